// Package narrative asks an OpenAI-compatible chat model (OpenAI, Azure
// OpenAI, vLLM, Ollama) to explain a finished triage report in plain
// language. The narrative never decides anything: the deterministic report
// is complete without it, every statement must cite evidence ids from the
// report, and statements that cite unknown evidence or contradict the
// matched playbooks are dropped before anyone sees them.
//
// # What is sent
//
// A compact JSON summary of the report (target, termination, facts, matched
// playbooks with the evidence ids their signals cite, and the evidence items
// by id), capped at Config.MaxPromptBytes by dropping the lowest-value items
// first. Every string goes through internal/redact again (the engine has
// already redacted the evidence; this is defence in depth) and, with
// Config.Anonymize, through an Anonymizer that replaces pod, namespace,
// workload, cluster and image names with aliases that are reversed in the
// narrative returned. Log-derived text travels as quoted data in the user
// message; the system prompt tells the model never to follow instructions
// found in it.
//
// # What comes back
//
// The request uses structured output (a strict JSON schema), so a reply
// cannot break the message layout. Narrate validates it: a reply that is not
// JSON for the schema is an error (the report is unaffected); statements
// citing unknown or no evidence ids, naming a playbook that did not match or
// claiming a different cause are dropped; hypotheses survive only when no
// playbook matched; markdown, links and control characters are stripped and
// each statement's length is capped.
//
// Replies are cached per prompt hash (bounded LRU), and requests, tokens and
// dropped statements are counted in Prometheus metrics (oombot_llm_*).
package narrative
