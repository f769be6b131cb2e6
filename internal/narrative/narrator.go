package narrative

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	openai "github.com/sashabaranov/go-openai"

	"github.com/oombot/oombot/internal/redact"
	"github.com/oombot/oombot/internal/report"
)

// Narrative is the model's explanation of one report, validated.
type Narrative struct {
	// Statements explain the evidence and the matched playbooks; each cites
	// evidence ids of the report.
	Statements []Statement `json:"statements"`
	// Hypotheses are ranked guesses, only when no playbook matched. They are
	// unverified by definition.
	Hypotheses []Hypothesis `json:"hypotheses"`
	// Dropped counts statements and hypotheses removed by validation.
	Dropped int `json:"dropped"`
	// Model is the model that answered (as the endpoint names it).
	Model            string `json:"model"`
	PromptTokens     int    `json:"promptTokens"`
	CompletionTokens int    `json:"completionTokens"`
	// Cached is true when the reply came from the cache (no request made;
	// the token counts are then 0).
	Cached bool `json:"cached"`
}

// Statement is one sentence or two of explanation.
type Statement struct {
	Text     string   `json:"text"`
	Evidence []string `json:"evidence"`
}

// Hypothesis is one ranked, unverified explanation (1 = most likely).
type Hypothesis struct {
	Rank     int      `json:"rank"`
	Text     string   `json:"text"`
	Evidence []string `json:"evidence"`
}

// Narrator produces narratives. It is safe for concurrent use.
type Narrator struct {
	cfg      Config
	client   *openai.Client
	redactor *redact.Redactor
	log      *slog.Logger
	metrics  *metrics
	cache    *cache
	// titles maps every known playbook id to its title.
	titles map[string]string
}

// New validates cfg and builds a Narrator. It makes no request.
func New(cfg Config, opts ...Option) (*Narrator, error) {
	o := options{getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := cfg.withDefaults(o.getenv)
	if err != nil {
		return nil, err
	}
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, fmt.Errorf("narrative metrics: %w", err)
	}
	var oc openai.ClientConfig
	if cfg.Azure {
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		oc.APIVersion = cfg.APIVersion
		// The model is the deployment name as the operator wrote it; the
		// default mapper rewrites names containing "3.5" or ":".
		oc.AzureModelMapperFunc = func(model string) string { return model }
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = cfg.BaseURL
	}
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	oc.HTTPClient = headerDoer{next: hc}
	if u := strings.ToLower(cfg.BaseURL); cfg.APIKey != "" && strings.HasPrefix(u, "http://") && !isLoopback(u) {
		log.Warn("narrative: the API key is sent over plain http", "baseURL", cfg.BaseURL)
	}
	ropts := redact.Default()
	ropts.IPs = ropts.IPs || cfg.RedactIPs
	n := &Narrator{
		cfg: cfg, client: openai.NewClientWithConfig(oc), redactor: redact.New(ropts),
		log: log, metrics: m, cache: newCache(cfg.CacheSize), titles: map[string]string{},
	}
	if o.playbooks != nil {
		for _, p := range o.playbooks.Playbooks() {
			n.titles[p.ID()] = p.Title()
		}
	}
	return n, nil
}

func isLoopback(u string) bool {
	for _, h := range []string{"http://localhost", "http://127.", "http://[::1]"} {
		if strings.HasPrefix(u, h) {
			return true
		}
	}
	return false
}

// Narrate explains rep. It never modifies rep. An error means there is no
// narrative; the report stands on its own. Failures are returned, and only
// logged at debug level, so a caller printing the error prints it once.
func (n *Narrator) Narrate(ctx context.Context, rep *report.Report) (*Narrative, error) {
	if rep == nil {
		return nil, errors.New("narrative: no report")
	}
	var anon *redact.Anonymizer
	clean := n.redactor.String
	if n.cfg.Anonymize {
		anon = anonymizer(rep)
		clean = func(s string) string { return anon.Apply(n.redactor.String(s)) }
	}
	p, err := buildPrompt(rep, clean, n.cfg.MaxPromptBytes)
	if err != nil {
		return nil, fmt.Errorf("narrative: %w", err)
	}
	if p.omitted > 0 {
		n.log.Info("narrative: evidence left out to fit the prompt budget", "items", p.omitted, "maxPromptBytes", n.cfg.MaxPromptBytes)
	}
	key := n.key(p.user)
	if c, ok := n.cache.get(key); ok {
		return n.narrative(c, anon, true), nil
	}

	req := openai.ChatCompletionRequest{
		Model: n.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: p.user},
		},
		MaxCompletionTokens: n.cfg.MaxCompletionTokens,
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: "oombot_narrative", Schema: replySchema(), Strict: true,
			},
		},
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	info := &respInfo{}
	rctx = context.WithValue(rctx, respInfoKey{}, info)
	start := time.Now()
	resp, err := n.client.CreateChatCompletion(rctx, req)
	if err != nil {
		result, err := n.classify(rctx, err, info)
		n.metrics.requests.WithLabelValues(result).Inc()
		n.log.Debug("narrative request failed", "result", result, "err", err, "duration", time.Since(start))
		return nil, err
	}
	n.metrics.tokens.WithLabelValues("prompt").Add(float64(max(resp.Usage.PromptTokens, 0)))
	n.metrics.tokens.WithLabelValues("completion").Add(float64(max(resp.Usage.CompletionTokens, 0)))
	r, err := n.reply(resp)
	if err != nil {
		n.metrics.requests.WithLabelValues(ResultInvalid).Inc()
		n.log.Debug("narrative reply rejected", "err", err, "model", resp.Model)
		return nil, fmt.Errorf("narrative: %w", err)
	}
	n.metrics.requests.WithLabelValues(ResultOK).Inc()
	chk := n.checker(rep, p)
	c := cached{model: resp.Model}
	if c.model == "" {
		c.model = n.cfg.Model
	}
	c.statements, c.hypotheses, c.dropped = chk.check(r)
	n.metrics.dropped.Add(float64(c.dropped))
	n.cache.put(key, c)
	n.log.Info("narrative ready", "model", c.model, "statements", len(c.statements), "hypotheses", len(c.hypotheses),
		"dropped", c.dropped, "promptTokens", resp.Usage.PromptTokens, "completionTokens", resp.Usage.CompletionTokens,
		"duration", time.Since(start))
	out := n.narrative(c, anon, false)
	out.PromptTokens, out.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	return out, nil
}

// key hashes exactly what decides the reply: model, budget, both messages.
func (n *Narrator) key(user string) string {
	h := sha256.New()
	for _, part := range []string{n.cfg.Model, strconv.Itoa(n.cfg.MaxCompletionTokens), systemPrompt, user} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (n *Narrator) reply(resp openai.ChatCompletionResponse) (*reply, error) {
	if len(resp.Choices) == 0 {
		return nil, fmt.Errorf("%w: no choices", errInvalid)
	}
	msg := resp.Choices[0].Message
	if msg.Refusal != "" {
		return nil, fmt.Errorf("%w: the model refused: %s", errInvalid, capRunes(sanitize(msg.Refusal), 200))
	}
	r, err := parseReply(msg.Content)
	if err != nil {
		if resp.Choices[0].FinishReason == openai.FinishReasonLength {
			return nil, fmt.Errorf("%w (cut off at max completion tokens %d)", err, n.cfg.MaxCompletionTokens)
		}
		return nil, err
	}
	return r, nil
}

// checker collects what a reply is validated against. Forbidden names are
// the playbooks that did not match: the report's considered ids plus any
// title known from WithPlaybooks.
func (n *Narrator) checker(rep *report.Report, p *prompt) *checker {
	c := &checker{ids: p.ids, matched: len(rep.Matches) > 0}
	matched := map[string]bool{}
	for _, m := range rep.Matches {
		matched[m.ID] = true
	}
	forbid := func(id string) {
		if id == "" || matched[id] {
			return
		}
		c.forbidden = append(c.forbidden, strings.ToLower(id))
		if spaced := strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(id)); spaced != strings.ToLower(id) {
			c.forbidden = append(c.forbidden, spaced)
		}
		if t := strings.TrimSpace(n.titles[id]); t != "" {
			c.forbidden = append(c.forbidden, strings.ToLower(t))
		}
	}
	for _, k := range rep.Considered {
		forbid(k.ID)
	}
	for id := range n.titles {
		forbid(id)
	}
	return c
}

// narrative maps a validated reply to the result, restoring real names.
func (n *Narrator) narrative(c cached, anon *redact.Anonymizer, hit bool) *Narrative {
	rev := func(s string) string {
		if anon == nil {
			return s
		}
		return anon.Reverse(s)
	}
	ids := func(in []string) []string {
		out := make([]string, len(in))
		for i, id := range in {
			out[i] = rev(id)
		}
		return out
	}
	out := &Narrative{Statements: []Statement{}, Hypotheses: []Hypothesis{}, Dropped: c.dropped, Model: c.model, Cached: hit}
	for _, s := range c.statements {
		// Real names can be longer than aliases: cap again after reversing.
		out.Statements = append(out.Statements, Statement{Text: capRunes(rev(s.Text), maxStatementRunes), Evidence: ids(s.Evidence)})
	}
	for _, h := range c.hypotheses {
		out.Hypotheses = append(out.Hypotheses, Hypothesis{Rank: h.Rank, Text: capRunes(rev(h.Text), maxStatementRunes), Evidence: ids(h.Evidence)})
	}
	return out
}

// anonymizer registers the report's infrastructure names, in a fixed order
// so the same report always gets the same aliases (and the same cache key).
func anonymizer(rep *report.Report) *redact.Anonymizer {
	a := redact.NewAnonymizer()
	a.Add("cluster", rep.Target.Cluster)
	a.Add("namespace", rep.Target.Namespace)
	a.Add("pod", rep.Target.Pod)
	a.Add("workload", rep.Target.WorkloadName)
	addImage := func(img string) {
		a.Add("image", img)
		// The repository without tag or digest also names the service.
		if i := strings.IndexByte(img, '@'); i > 0 {
			a.Add("image", img[:i])
		} else if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') && i > 0 {
			a.Add("image", img[:i])
		}
	}
	if ev := rep.Evidence; ev != nil {
		if ev.Target.Pod != "" && ev.Target.Pod != rep.Target.Pod {
			a.Add("pod", ev.Target.Pod)
		}
		for _, c := range ev.Containers {
			addImage(c.Image)
		}
		for _, d := range ev.Deploys {
			a.Add("workload", d.Name)
			for _, img := range d.Images {
				addImage(img)
			}
		}
	}
	return a
}

// classify names a failed request's result and turns the error into one
// line fit for a terminal: no response body dumps, never the API key.
func (n *Narrator) classify(ctx context.Context, err error, info *respInfo) (string, error) {
	var (
		apiErr *openai.APIError
		reqErr *openai.RequestError
		status int
	)
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	if status == 0 {
		status = info.status
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return ResultTimeout, fmt.Errorf("narrative: no reply from the LLM endpoint within %s", n.cfg.Timeout)
	case status == http.StatusTooManyRequests:
		msg := "narrative: rate limited by the LLM endpoint (HTTP 429)"
		if info.retryAfter != "" {
			msg += "; retry after " + retryAfter(info.retryAfter)
		}
		return ResultRateLimited, errors.New(msg)
	case apiErr != nil:
		return ResultError, fmt.Errorf("narrative: LLM endpoint answered HTTP %d: %s", status, n.scrub(apiErr.Message))
	case reqErr != nil:
		return ResultError, fmt.Errorf("narrative: LLM endpoint answered %s", n.scrub(reqErr.HTTPStatus))
	}
	return ResultError, fmt.Errorf("narrative: LLM request: %s", n.scrub(err.Error()))
}

// scrub keeps an error line short and free of the API key (an endpoint or a
// proxy may echo request headers back).
func (n *Narrator) scrub(s string) string {
	if n.cfg.APIKey != "" {
		s = strings.ReplaceAll(s, n.cfg.APIKey, "[api key]")
	}
	return capRunes(oneLine(s), 300)
}

// oneLine drops control characters and folds whitespace, keeping URLs
// (unlike sanitize): an error naming the endpoint it failed to reach is
// the operator's own configuration, not model output.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// retryAfter renders a Retry-After header (seconds or an HTTP date).
func retryAfter(v string) string {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return (time.Duration(s) * time.Second).String()
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return capRunes(oneLine(v), 40)
}

// respInfo carries what go-openai's errors drop (the status and
// Retry-After of the response), from the HTTP layer back to Narrate. It
// travels in the request's context, so concurrent calls never share one.
type respInfo struct {
	status     int
	retryAfter string
}

type respInfoKey struct{}

// headerDoer records response metadata into the request's respInfo.
type headerDoer struct{ next openai.HTTPDoer }

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	if resp != nil {
		if info, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok {
			info.status, info.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		}
	}
	return resp, err
}
