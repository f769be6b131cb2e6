package narrative

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oombot/oombot/internal/playbooks"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout             = 20 * time.Second
	DefaultMaxCompletionTokens = 600
	DefaultMaxPromptBytes      = 24 << 10
	DefaultCacheSize           = 128
	// DefaultAzureAPIVersion is the first GA Azure OpenAI API version that
	// accepts response_format json_schema (go-openai's own default, 2023-05-15,
	// predates structured output).
	DefaultAzureAPIVersion = "2024-10-21"
	// minPromptBytes keeps room for the system prompt and the fixed part of
	// the summary; below it nothing useful can be sent.
	minPromptBytes = 4 << 10
)

// Config selects the endpoint and bounds what a narrative may cost.
type Config struct {
	// BaseURL is the OpenAI-compatible API root and must include the version
	// path: https://api.openai.com/v1, http://vllm:8000/v1,
	// http://localhost:11434/v1 (Ollama). With Azure it is the resource
	// endpoint, https://NAME.openai.azure.com, without /openai.
	BaseURL string
	// Model is the model name (with Azure: the deployment name).
	Model string
	// APIKey defaults to $OPENAI_API_KEY. Local servers may not need one.
	APIKey string
	// Azure selects Azure OpenAI's URL layout and api-key header.
	Azure bool
	// APIVersion is Azure's api-version (default DefaultAzureAPIVersion).
	APIVersion string
	// Timeout bounds one narrative request (default 20s).
	Timeout time.Duration
	// MaxCompletionTokens bounds the reply (default 600).
	MaxCompletionTokens int
	// MaxPromptBytes bounds the system prompt plus the evidence summary
	// (default 24 KiB); lower-value evidence is left out to fit.
	MaxPromptBytes int
	// Anonymize replaces pod, namespace, workload, cluster and image names
	// with aliases before sending, and restores them in the narrative.
	Anonymize bool
	// RedactIPs also redacts IP addresses (emails and secrets always are).
	RedactIPs bool
	// CacheSize bounds the reply cache: 0 means DefaultCacheSize, a negative
	// value disables caching.
	CacheSize int
}

// withDefaults fills zero fields and checks the rest, explaining what a
// valid setting looks like.
func (c Config) withDefaults(getenv func(string) string) (Config, error) {
	if c.APIKey == "" && getenv != nil {
		c.APIKey = getenv("OPENAI_API_KEY")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxCompletionTokens == 0 {
		c.MaxCompletionTokens = DefaultMaxCompletionTokens
	}
	if c.MaxPromptBytes == 0 {
		c.MaxPromptBytes = DefaultMaxPromptBytes
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Azure && c.APIVersion == "" {
		c.APIVersion = DefaultAzureAPIVersion
	}
	var errs []error
	if strings.TrimSpace(c.Model) == "" {
		errs = append(errs, errors.New("no model: set --llm-model or OOMBOT_LLM_MODEL (with Azure, the deployment name)"))
	}
	if err := c.checkBaseURL(); err != nil {
		errs = append(errs, err)
	}
	if c.Azure && c.APIKey == "" {
		errs = append(errs, errors.New("an API key is required for Azure OpenAI: set OPENAI_API_KEY"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if c.MaxCompletionTokens < 0 {
		errs = append(errs, fmt.Errorf("max completion tokens %d is negative", c.MaxCompletionTokens))
	}
	if c.MaxPromptBytes < minPromptBytes {
		errs = append(errs, fmt.Errorf("max prompt bytes %d is below the minimum %d", c.MaxPromptBytes, minPromptBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("narrative config: %w", err)
	}
	return c, nil
}

// checkBaseURL rejects URLs go-openai would turn into a wrong endpoint: it
// appends /chat/completions to BaseURL as given, so an OpenAI-style root
// without its /v1 would silently hit a 404 (or an HTML page).
func (c Config) checkBaseURL() error {
	if strings.TrimSpace(c.BaseURL) == "" {
		return errors.New("no LLM base URL: set --llm-base-url or OOMBOT_LLM_BASE_URL, " +
			"e.g. https://api.openai.com/v1, http://localhost:11434/v1 (Ollama), http://vllm:8000/v1")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("LLM base URL %q: %w", c.BaseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("LLM base URL %q: scheme must be http or https", c.BaseURL)
	}
	if u.Host == "" {
		return fmt.Errorf("LLM base URL %q has no host", c.BaseURL)
	}
	if u.User != nil {
		// Credentials in the URL would end up in logs and error messages.
		return fmt.Errorf("LLM base URL must not contain credentials: pass the key in OPENAI_API_KEY")
	}
	path := strings.TrimRight(u.Path, "/")
	if c.Azure {
		if strings.HasSuffix(path, "/openai") || strings.Contains(path, "/openai/") {
			return fmt.Errorf("base URL %q for Azure: give the resource endpoint (https://NAME.openai.azure.com); /openai/deployments/MODEL is added for you", c.BaseURL)
		}
		return nil
	}
	if !hasVersionSegment(path) {
		return fmt.Errorf("LLM base URL %q must include the API version path, e.g. %s://%s%s/v1: "+
			"/chat/completions is appended to it as given", c.BaseURL, u.Scheme, u.Host, path)
	}
	return nil
}

// hasVersionSegment reports whether a path has a segment like v1 or v1beta.
func hasVersionSegment(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if len(seg) >= 2 && seg[0] == 'v' && seg[1] >= '0' && seg[1] <= '9' {
			return true
		}
	}
	return false
}

// Option customises a Narrator.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	registerer prometheus.Registerer
	httpClient *http.Client
	playbooks  *playbooks.Set
	getenv     func(string) string
}

// WithLogger logs request outcomes (never the API key or the prompt).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRegisterer registers the oombot_llm_* metrics; without it they are
// counted but not exported.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithHTTPClient sets the HTTP client used for requests (proxies, custom CAs).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithPlaybooks gives the titles of the playbooks that were evaluated, so a
// statement naming a non-matching playbook by its title (not only its id,
// which the report carries) is recognised and dropped.
func WithPlaybooks(s *playbooks.Set) Option { return func(o *options) { o.playbooks = s } }

// WithGetenv replaces os.Getenv for the OPENAI_API_KEY default (tests).
func WithGetenv(f func(string) string) Option { return func(o *options) { o.getenv = f } }
