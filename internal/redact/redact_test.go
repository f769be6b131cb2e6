package redact

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
)

func TestStringRedacts(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"key=value", "login ok password=hunter2 user=bob", "login ok password=[REDACTED:password] user=bob"},
		{"env style, stops at semicolon", "DB_PASSWORD=s3cr3t;next", "DB_PASSWORD=[REDACTED:password];next"},
		{"yaml style", "spring.datasource.password: hunter2", "spring.datasource.password: [REDACTED:password]"},
		{"json style", `{"password":"hunter 2","user":"bob"}`, `{"password":"[REDACTED:password]","user":"bob"}`},
		{"json with spaces", `{"apiKey": "abc123"}`, `{"apiKey": "[REDACTED:api-key]"}`},
		{"single quotes", `secret='abc def'`, `secret='[REDACTED:secret]'`},
		{"case-insensitive key", "PassWord=Abc", "PassWord=[REDACTED:password]"},
		{"passwd and pwd", "passwd=a1 pwd=b2", "passwd=[REDACTED:password] pwd=[REDACTED:password]"},
		{"-D system property", "-Djavax.net.ssl.keyStorePassword=changeit -Xmx1g",
			"-Djavax.net.ssl.keyStorePassword=[REDACTED:password] -Xmx1g"},
		{"query string", "GET /cb?api_key=abc123&x=1", "GET /cb?api_key=[REDACTED:api-key]&x=1"},
		{"header style api key", "X-API-KEY: abc", "X-API-KEY: [REDACTED:api-key]"},
		{"access key", "accessKey=AbC, next", "accessKey=[REDACTED:access-key], next"},
		{"client secret", "client_secret=abc", "client_secret=[REDACTED:client-secret]"},
		{"credentials", "credentials=abc", "credentials=[REDACTED:credentials]"},
		{"token", "access_token=abc.def", "access_token=[REDACTED:token]"},
		{"token with scheme", "token: Bearer abc123", "token: Bearer [REDACTED:token]"},
		{"aws secret key name", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			"aws_secret_access_key = [REDACTED:aws-secret-key]"},
		{"bearer header", "Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED:bearer]"},
		{"basic header", "authorization: Basic dXNlcjpwYXNz", "authorization: Basic [REDACTED:basic]"},
		{"json header", `{"Authorization":"Bearer xyz123456"}`, `{"Authorization":"Bearer [REDACTED:bearer]"}`},
		{"header without scheme", "Authorization=abcdef123", "Authorization=[REDACTED:authorization]"},
		{"bare bearer", "calling api with Bearer abcdefghijklmnopq", "calling api with Bearer [REDACTED:bearer]"},
		{"jdbc url", "jdbc:postgresql://app:pa55@db:5432/x", "jdbc:postgresql://app:[REDACTED:url-password]@db:5432/x"},
		{"https url", "clone https://u:p@h.example.com/x.git", "clone https://u:[REDACTED:url-password]@h.example.com/x.git"},
		{"url without user", "redis://:s3cret@cache:6379", "redis://:[REDACTED:url-password]@cache:6379"},
		{"oracle thin", "jdbc:oracle:thin:scott/tiger@db:1521:orcl", "jdbc:oracle:thin:scott/[REDACTED:url-password]@db:1521:orcl"},
		{"aws key id and secret", "creds AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done",
			"creds [REDACTED:aws-access-key-id] [REDACTED:aws-secret-key] done"},
		{"slack bot token", "posting as xoxb-123456-abcdefghij", "posting as [REDACTED:slack-token]"},
		{"slack app token", "xapp-1-A0123-4567-abcdef", "[REDACTED:slack-token]"},
		{"github token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "[REDACTED:github-token] ok"},
		{"github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopq", "[REDACTED:github-token]"},
		{"jwt", "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", "session [REDACTED:jwt] end"},
		{"pem block", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\ndef=\n-----END RSA PRIVATE KEY-----\nafter",
			"key:\n[REDACTED:private-key]\nafter"},
		{"truncated pem", "-----BEGIN PRIVATE KEY-----\nMIIEabc", "[REDACTED:private-key]"},
		{"google api key", "maps key AIzaSyA1234567890abcdefghijklmnopqrstuv.", "maps key [REDACTED:google-api-key]."},
		{"email", "paged oncall@example.com at 02:00", "paged [REDACTED:email] at 02:00"},
	}
	r := New(Default())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.String(tc.in)
			if got != tc.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if again := r.String(got); again != got {
				t.Errorf("not idempotent: %q → %q", got, again)
			}
		})
	}
}

// Text that carries the diagnosis must come through untouched.
func TestStringKeeps(t *testing.T) {
	keep := []string{
		"\tat com.example.auth.TokenService.refresh(TokenService.java:42)",
		"com.example.lock.LockResourceImpl retained 1.2GiB",
		"INFO TokenService: refreshed 5 tokens",
		"tokens=5 max_tokens=100 token_count=3",
		"password_file=/etc/app/db.txt passwordless=true",
		"-XX:MaxRAMPercentage=75.0 -XX:+HeapDumpOnOutOfMemoryError -Xss512k",
		"java.lang.OutOfMemoryError: Java heap space",
		"io.netty.buffer.PooledUnsafeDirectByteBuf@6d06d69c",
		"registry.example.com/media/image-gateway@sha256:208c52a8f6d92938db3806af3bb1e040b6dcc9a060105dd8f50faff65171c8d1",
		"PWD=/app HOME=/root",
		"password=${DB_PASSWORD} secret=$(API_SECRET)",
		"pod IP 10.0.122.21 on node ip-10-0-21-134",
		`jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 1.2e+09`,
		"GC(173) Pause Full (G1 Compaction Pause) 15M->4M(64M) 83.545ms",
		"Authorization header missing; Bearer credentials rejected",
		"Authorization: Bearer",
		"the bearer of bad news",
		"if c.APIKey == \"\" {",
		"password=, token=&",
		"MountVolume.SetUp failed for volume \"creds\" : secret \"db-creds\" not found",
		"2026-03-14T02:00:31.606Z ERROR [http-nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet]",
		"commit 8f14e45fceea167a5a36dedd4bea2543f1c2a5d7 deployed", // 40 hex chars, no AWS id nearby
	}
	r := New(Default())
	for _, s := range keep {
		if got := r.String(s); got != s {
			t.Errorf("String changed diagnostic text:\n  in  %q\n  out %q", s, got)
		}
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		in   string
		want string
	}{
		{"emails off", Options{}, "mail a@example.com", "mail a@example.com"},
		{"ips off by default", Default(), "pod 10.0.0.1", "pod 10.0.0.1"},
		{"ipv4", Options{IPs: true}, "pod 10.0.122.21:8080 up", "pod [REDACTED:ip]:8080 up"},
		{"ipv6", Options{IPs: true}, "from 2001:db8::8a2e:370:7334 and fe80::1", "from [REDACTED:ip] and [REDACTED:ip]"},
		{"method references are not ips", Options{IPs: true}, "at Foo::bar and Cache::beef", "at Foo::bar and Cache::beef"},
		{"times are not ips", Options{IPs: true}, "at 12:34:56.789 version 1.42.0", "at 12:34:56.789 version 1.42.0"},
		{"extra", Options{Extra: []*regexp.Regexp{regexp.MustCompile(`cust-[0-9]{6}`)}}, "customer cust-123456 done", "customer [REDACTED:custom] done"},
		{"nil extra ignored", Options{Extra: []*regexp.Regexp{nil}}, "x", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := New(tc.opts).String(tc.in); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}

// fillStrings sets every settable string reachable from v to s (growing
// nil slices to one element), and returns how many it set. It stands in for
// "an evidence with a secret in every field", including fields added later.
func fillStrings(v reflect.Value, s string) int {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
		return 1
	case reflect.Struct:
		n := 0
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				n += fillStrings(f, s)
			}
		}
		return n
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		n := 0
		for i := 0; i < v.Len(); i++ {
			n += fillStrings(v.Index(i), s)
		}
		return n
	}
	return 0
}

func TestEvidenceRedactsEveryString(t *testing.T) {
	var ev evidence.Evidence
	const secret = "password=hunter2"
	fields := fillStrings(reflect.ValueOf(&ev).Elem(), secret)
	if fields < 50 {
		t.Fatalf("only %d string fields filled; the walk helper is broken", fields)
	}
	n := New(Default()).Evidence(&ev)
	if n != fields {
		t.Errorf("Evidence made %d replacements, want one per string field (%d)", n, fields)
	}
	// Check through a second, independent walk that nothing kept the secret.
	var leaked []string
	var check func(path string, v reflect.Value)
	check = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if strings.Contains(v.String(), "hunter2") {
				leaked = append(leaked, path)
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					check(path+"."+v.Type().Field(i).Name, v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				check(path+"[]", v.Index(i))
			}
		}
	}
	check("ev", reflect.ValueOf(ev))
	if len(leaked) > 0 {
		t.Errorf("secret survived in %v", leaked)
	}
	if ev.OOMErrors[0].Cites[0].Text != "password=[REDACTED:password]" {
		t.Errorf("citation text = %q", ev.OOMErrors[0].Cites[0].Text)
	}
	if New(Default()).Evidence(nil) != 0 {
		t.Error("nil evidence should be a no-op")
	}
}

func TestEvidenceKeepsCleanEvidence(t *testing.T) {
	ev := evidence.Evidence{
		Target: evidence.Target{Namespace: "media", Pod: "image-gateway-knm4slp6kt-2xvqh"},
		OOMErrors: []evidence.OOMError{{
			Message: "java.lang.OutOfMemoryError: Java heap space",
			Frames:  []string{"java.desktop/java.awt.image.DataBufferByte.<init>(DataBufferByte.java:92)"},
			Cites:   []evidence.Citation{{Source: "logs/app.previous.log", Ref: "line 256", Text: "Caused by: java.lang.OutOfMemoryError: Java heap space"}},
		}},
	}
	before := ev.OOMErrors[0].Cites[0].Text
	if n := New(Default()).Evidence(&ev); n != 0 {
		t.Errorf("%d replacements in clean evidence", n)
	}
	if ev.OOMErrors[0].Cites[0].Text != before {
		t.Errorf("clean citation changed")
	}
}

// The fixtures are real JVM output and synthesized Kubernetes objects with
// no secrets in them: the default redactor must not change a single line,
// or it would be destroying diagnosis somewhere.
func TestFixturesUnchanged(t *testing.T) {
	r := New(Default())
	var files int
	for _, root := range []string{"../../testdata/bundles", "../../examples/incidents"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			for i, line := range strings.Split(string(data), "\n") {
				if got := r.String(line); got != line {
					t.Errorf("%s:%d changed:\n  in  %.200q\n  out %.200q", p, i+1, line, got)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d fixture files found; is the working directory right?", files)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(Default())
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if got := r.String("password=x1 Authorization: Bearer abcdefgh12345678"); got != "password=[REDACTED:password] Authorization: Bearer [REDACTED:bearer]" {
					errs <- got
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent String = %q", e)
	}
}

func BenchmarkRedactString(b *testing.B) {
	// 10k citation-sized lines of real log material, plus a few secrets.
	data, err := os.ReadFile("../../testdata/bundles/image-decode-bomb/logs/gateway.previous.log")
	if err != nil {
		b.Fatal(err)
	}
	src := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines := make([]string, 0, 10000)
	size := 0
	for i := 0; len(lines) < 10000; i++ {
		l := src[i%len(src)]
		if i%500 == 0 {
			l += " password=hunter2"
		}
		lines = append(lines, l)
		size += len(l)
	}
	r := New(Default())
	b.Run("redact", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, l := range lines {
				_ = r.String(l)
			}
		}
	})
	b.Run("strings.Contains-baseline", func(b *testing.B) {
		b.SetBytes(int64(size))
		hits := 0
		for b.Loop() {
			for _, l := range lines {
				if strings.Contains(l, "password") {
					hits++
				}
			}
		}
		_ = hits
	})
}
