package config

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is what a Secret shows instead of its value.
const redacted = "[REDACTED]"

// Secret is a string that never shows in logs: String, Format (every fmt verb), LogValue
// (slog.LogValuer) and MarshalText redact it. Use string(s) or []byte(s) where the value itself is needed.
type Secret string

// String returns "[REDACTED]", never the secret.
func (Secret) String() string { return redacted }

// Format writes "[REDACTED]" whatever the verb, so no fmt verb (%v, %#v, %x, %d...) shows the secret.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue returns "[REDACTED]", so log/slog never writes the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "[REDACTED]", so a Config encoded as JSON (as slog's JSON handler does
// with a struct) does not leak the secret. It never fails.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
