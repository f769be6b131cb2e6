// Package slackserver is a fake Slack for tests: the Web API methods,
// upload URLs, Socket Mode and response URLs oombot uses, spoken on the
// wire so the real slack-go client can be pointed at it:
//
//	srv := slackserver.New(slackserver.Options{})
//	t.Cleanup(srv.Close)
//	api := slack.New(srv.BotToken, slack.OptionAPIURL(srv.URL()),
//		slack.OptionAppLevelToken(srv.AppToken), slack.OptionHTTPClient(srv.Client()))
//
// It is a regular (non-test) package so tests of several packages, and an
// end-to-end module, can share it. slack-go's slacktest is not used: it
// lacks chat.update, files.* and conversations.*, and offers no control
// over failures.
//
// # What it implements
//
// Web API (form, query or JSON parameters; token as "Authorization: Bearer"
// or a "token" parameter; HTTP 200 with {"ok":false,"error":…} for
// not_authed, invalid_auth and not_allowed_token_type, as Slack answers):
// auth.test, chat.postMessage, chat.update, chat.postEphemeral,
// chat.getPermalink, conversations.history, conversations.replies,
// files.getUploadURLExternal, files.completeUploadExternal,
// apps.connections.open (app token only). Unknown methods answer
// unknown_method. Message ts values are unique and increasing
// ("1732365600.000100"). Blocks are checked against the Block Kit limits
// Slack enforces (50 blocks, section text 3000, fields 10 × 2000, header
// 150 plain_text, button text 75, …) and refused with invalid_blocks and
// Slack-worded errors. The upload URL is on the server's own host (slack-go
// refuses to send the token elsewhere) and takes the bytes raw or as the
// multipart "file" part.
//
// Socket Mode (docs.slack.dev/apis/events-api/using-socket-mode): a
// connection gets {"type":"hello",…}; Push sends events_api, slash_commands
// and interactive envelopes ({"envelope_id","type","payload",
// "accepts_response_payload"} plus retry_attempt/retry_reason for events);
// acks ({"envelope_id","payload"}) are recorded. Envelopes stay pending
// until acked: pushed with no connection open they wait for the next one,
// and unacked ones are redelivered on the next connection with
// retry_attempt + 1, which is what the bot must dedupe. Disconnect sends
// {"type":"disconnect","reason":…} and closes; slack-go reconnects. The
// server pings every connection (Options.PingInterval) as Slack does.
//
// HTTP mode: Sign makes X-Slack-Signature/X-Slack-Request-Timestamp
// (v0 HMAC-SHA256 over "v0:<ts>:<body>"); EventRequest, CommandRequest and
// InteractionRequest build signed requests to the bot's endpoints in the
// shapes Slack sends. Response URLs (SlashCommandFields,
// BlockActionsPayload, ResponseURL) record what is posted and apply it
// (in_channel, ephemeral, replace_original, delete_original); a URL works
// five times, as on Slack.
//
// Failure injection: FailNext (HTTP status; 429 with Retry-After and
// "ratelimited"), FailNextWith (an ok:false error code), Latency, and a
// per-channel token bucket on chat.postMessage (SetChannelRateLimit) for
// 429 storms. Observation: Calls, Messages, Thread, Ephemerals, Files,
// Acks, ResponsePosts, and WaitFor/Changed so tests wait for a state
// instead of sleeping.
//
// # What it does not do
//
// No users, channels directory, membership or scopes (every channel exists
// unless Options.Channels lists them), no Events API delivery over HTTP
// (tests send EventRequest to the bot themselves), no message events for
// the bot's own posts, no rate limits other than the ones injected, no
// redelivery timer (RedeliverUnacked simulates a late ack), no TLS. Where
// Slack's behaviour is undocumented the server is strict on purpose: a
// reply to an unknown thread_ts is thread_not_found, an upload whose size
// differs from the declared length gets HTTP 400.
package slackserver
