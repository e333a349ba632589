package mfa_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/mfa"
)

const (
	serverSecret = "a-server-secret-of-at-least-32-bytes!"
	userA        = "0b7c6f0e-7a55-4f3e-9d65-5d3f0a8f6c11"
	userB        = "5b2f9a41-3c1e-4d8b-a0f2-7e6d1c9b8a22"
	totpSecret   = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

func newSealer(t *testing.T, secret string) *mfa.Sealer {
	t.Helper()
	s, err := mfa.NewSealer([]byte(secret))
	if err != nil {
		t.Fatalf("NewSealer = %v", err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newSealer(t, serverSecret)
	sealed, err := s.Seal(userA, totpSecret)
	if err != nil {
		t.Fatalf("Seal = %v", err)
	}
	if strings.Contains(sealed, totpSecret) || !strings.HasPrefix(sealed, "v1.") {
		t.Fatalf("Seal = %q: want a v1 value that does not show the secret", sealed)
	}
	again, err := s.Seal(userA, totpSecret)
	if err != nil || again == sealed {
		t.Fatalf("sealing twice gave %q and %q (err %v): want fresh nonces", sealed, again, err)
	}
	// Another Sealer from the same server secret (another instance, or after a restart) reads it.
	got, err := newSealer(t, serverSecret).Open(userA, sealed)
	if err != nil || got != totpSecret {
		t.Fatalf("Open = %q, %v; want %q", got, err, totpSecret)
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	s := newSealer(t, serverSecret)
	sealed, err := s.Seal(userA, totpSecret)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(sealed, ".", 3)
	body, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(body)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name, userID, value string
		want                error
	}{
		{"another user's row", userB, sealed, mfa.ErrSealedCorrupt},
		{"flipped bit", userA, parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(flipped), mfa.ErrSealedCorrupt},
		{"truncated", userA, parts[0] + "." + parts[1] + "." + parts[2][:10], mfa.ErrSealedCorrupt},
		{"empty body", userA, parts[0] + "." + parts[1] + ".", mfa.ErrSealedCorrupt},
		{"not base64", userA, parts[0] + "." + parts[1] + ".!!!", mfa.ErrSealedCorrupt},
		{"unknown version", userA, "v2." + parts[1] + "." + parts[2], mfa.ErrSealedCorrupt},
		{"no dots", userA, "garbage", mfa.ErrSealedCorrupt},
		{"empty", userA, "", mfa.ErrSealedCorrupt},
		{"plain secret", userA, totpSecret, mfa.ErrSealedCorrupt},
		{"other key id", userA, parts[0] + ".00000000." + parts[2], mfa.ErrSealedUnderOtherKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(tt.userID, tt.value)
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("Open(%q) = %q, %v; want %v", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestRotatedServerSecretIsDetected(t *testing.T) {
	sealed, err := newSealer(t, serverSecret).Seal(userA, totpSecret)
	if err != nil {
		t.Fatal(err)
	}
	rotated := newSealer(t, serverSecret+"-rotated")
	if _, err := rotated.Open(userA, sealed); !errors.Is(err, mfa.ErrSealedUnderOtherKey) {
		t.Fatalf("Open after rotation = %v, want ErrSealedUnderOtherKey", err)
	}
}

func TestNewSealerRefusesShortSecret(t *testing.T) {
	if _, err := mfa.NewSealer([]byte(strings.Repeat("x", 31))); err == nil {
		t.Fatal("NewSealer(31 bytes) = nil error")
	}
}

func TestSealerNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sealer", "sealer", newSealer(t, serverSecret))
	if !strings.Contains(buf.String(), `"sealer":"[redacted]"`) {
		t.Errorf("log line %s: want the sealer redacted", buf.String())
	}
}
