package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/config"
)

func TestSecretRedactedInFmt(t *testing.T) {
	s := config.Secret(accessSecret)
	if got := s.String(); got != "[REDACTED]" {
		t.Errorf("Secret.String() = %q, want [REDACTED]", got)
	}
	cfg := defaults()
	for _, format := range []string{"%v", "%s", "%q", "%x", "%X", "%#v", "%+v", "%d", "%10.3s"} {
		if out := fmt.Sprintf(format, s); out != "[REDACTED]" {
			t.Errorf("fmt.Sprintf(%q, Secret) = %q, want [REDACTED]", format, out)
		}
		for _, arg := range []any{cfg, &cfg} {
			out := fmt.Sprintf(format, arg)
			if strings.Contains(out, accessSecret) || strings.Count(out, "[REDACTED]") != 2 {
				t.Errorf("fmt.Sprintf(%q, %T) = %q, want 2 [REDACTED] and no secret", format, arg, out)
			}
		}
	}
}

func TestSecretRedactedInSlog(t *testing.T) {
	cfg := defaults()
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	}
	for name, newHandler := range handlers {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			slog.New(newHandler(&b)).Info("loaded", "secret", cfg.AccessSecret, "config", cfg)
			out := b.String()
			if strings.Contains(out, accessSecret) || strings.Contains(out, refreshSecret) ||
				strings.Count(out, "[REDACTED]") != 3 {
				t.Errorf("slog %s output = %s, want 3 [REDACTED] and no secret", name, out)
			}
		})
	}
}

func TestSecretRedactedInJSON(t *testing.T) {
	out, err := json.Marshal(defaults())
	if err != nil {
		t.Fatalf("json.Marshal(Config) error = %v", err)
	}
	if strings.Contains(string(out), accessSecret) || !strings.Contains(string(out), `"AccessSecret":"[REDACTED]"`) {
		t.Errorf("json.Marshal(Config) = %s, want AccessSecret [REDACTED]", out)
	}
}
