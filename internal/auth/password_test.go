package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authserver/authserver/internal/auth"
)

// holdHash is a bcrypt hash of holdPassword at cost 10: verifying it keeps a Hasher slot busy for
// a good fraction of a second, far longer than a MinCost hash.
const (
	holdPassword = "hold-the-slot"
	holdHash     = "$2a$10$H20a1QHEv/OGoSGAHwGOU.ofLw65WuzvYuMbbAEAa/IZ6fccFSn0e"
)

func newHasher(tb testing.TB, concurrency int, wait time.Duration) *auth.Hasher {
	tb.Helper()
	h, err := auth.NewHasher(bcrypt.MinCost, auth.FixedSlots(concurrency), wait)
	if err != nil {
		tb.Fatalf("NewHasher error: %v", err)
	}
	return h
}

func TestHasherBusy(t *testing.T) {
	ctx := context.Background()
	// One slot. The hasher reads the slot count while it admits a hash, under the lock it takes the
	// slot with; the first read is the holder's, so once it has been read the slot is held and a
	// Hash must wait, then fail with ErrBusy. The holder verifies holdHash (cost 10), which lasts
	// far longer than the 5ms wait, whatever the machine's load.
	asked := make(chan struct{}, 1)
	oneSlot := func() int {
		select {
		case asked <- struct{}{}:
		default:
		}
		return 1
	}
	h, err := auth.NewHasher(bcrypt.MinCost, oneSlot, 5*time.Millisecond)
	if err != nil {
		t.Fatalf("NewHasher error: %v", err)
	}
	held := make(chan error, 1)
	go func() {
		ok, err := h.Verify(ctx, holdHash, holdPassword)
		if err == nil && !ok {
			err = errors.New("holdHash does not match holdPassword")
		}
		held <- err
	}()
	<-asked
	if _, err := h.Hash(ctx, "some password"); !errors.Is(err, auth.ErrBusy) {
		t.Errorf("Hash while the only slot is held error = %v, want ErrBusy", err)
	}
	if err := <-held; err != nil {
		t.Fatalf("Verify(holdHash, its password) error = %v", err)
	}
	if _, err := h.Hash(ctx, "some password"); err != nil {
		t.Errorf("Hash after the slot was released error = %v, want nil", err)
	}
}

func TestHasherContextCanceled(t *testing.T) {
	h := newHasher(t, 1, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With the slot free, acquiring may succeed or see the cancellation; either way nothing else.
	if _, err := h.Hash(ctx, "some password"); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(canceled context) error = %v, want nil or context.Canceled", err)
	}
	if _, err := h.Hash(context.Background(), "some password"); err != nil {
		t.Errorf("Hash after a canceled call error = %v, want nil (slot released)", err)
	}
}

func TestHasherVerify(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 2, time.Minute)
	const pw = "maple-syrup-river-88"
	hash, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatalf("Hash error: %v", err)
	}
	if strings.Contains(hash, pw) || bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil {
		t.Fatalf("Hash(%q) = %q, want a bcrypt hash of it", pw, hash)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.MinCost {
		t.Errorf("bcrypt.Cost(Hash(...)) = %d, %v; want %d", cost, err, bcrypt.MinCost)
	}
	long := strings.Repeat("q", 72)
	longHash, err := h.Hash(ctx, long)
	if err != nil {
		t.Fatalf("Hash(72 bytes) error: %v", err)
	}
	if _, err := h.Hash(ctx, long+"q"); err == nil {
		t.Errorf("Hash(73 bytes) error = nil, want an error (bcrypt would ignore the 73rd byte)")
	}

	tests := []struct {
		name, hash, password string
		want                 bool
	}{
		{"right password", hash, pw, true},
		{"wrong password", hash, pw + "!", false},
		{"empty password", hash, "", false},
		{"72 bytes", longHash, long, true},
		{"73 bytes whose first 72 match", longHash, long + "x", false},
		{"dummy hash with the dummy's own password", "", "dummy password for timing equality", false},
		{"dummy hash with an empty password", "", "", false},
		{"dummy hash with a long password", "", strings.Repeat("d", 100), false},
	}
	for _, tt := range tests {
		got, err := h.Verify(ctx, tt.hash, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%s) = %v, %v; want %v, nil", tt.name, got, err, tt.want)
		}
	}
	if got, err := h.Verify(ctx, "not a bcrypt hash", pw); err == nil || got {
		t.Errorf("Verify(malformed hash) = %v, %v; want false and an error", got, err)
	}
}

// bytes72 is a 72-byte password that repeats nothing.
const bytes72 = "kT9$mQ2!vX7#pL4&wR8*zN3%bH6^cJ1(dF5)gS0_yE4+uA9=iO2-tK7~nM3?qW8<rV5>sB1;"

func TestPasswordPolicy(t *testing.T) {
	e := newEnv(t, nil, nil)
	tests := []struct {
		name, email, password string
		want                  string // a piece of the password problem, or "" for accepted
	}{
		{"passphrase", "a1@example.com", "purple-otter-juggles-42", ""},
		{"8 emoji are 8 characters", "a2@example.com", "🦊🐼🐨🐯🦁🐸🐙🦉", ""},
		{"7 emoji are too few", "a3@example.com", "🦊🐼🐨🐯🦁🐸🐙", "at least 8 characters"},
		{"7 ASCII characters", "a4@example.com", "Xq7#pLm", "at least 8 characters"},
		{"72 bytes", "a5@example.com", bytes72, ""},
		{"73 bytes", "a6@example.com", bytes72 + "z", "at most 72 bytes"},
		{"a unit repeated to 72 bytes", "a12@example.com", strings.Repeat("kT9$", 18), "too easy"},
		{"19 emoji are 76 bytes", "a7@example.com", strings.Repeat("🦊", 19), "at most 72 bytes"},
		{"invalid UTF-8", "a8@example.com", "abcdefgh\xff", "UTF-8"},
		{"common", "a9@example.com", "password1", "too common"},
		{"common in another case", "a10@example.com", "PASSWORD1", "too common"},
		{"equal to the email", "juniper.falcon@example.com", "Juniper.Falcon@example.com", "email"},
		{"the email's local part", "juniper.hawk77@example.com", "JUNIPER.HAWK77", "email"},
		{"one character repeated", "a11@example.com", "aaaaaaaa", "too easy"},
		{"two counting runs", "a13@example.com", "5678wxyz", "too easy"},
		{"counting down", "a14@example.com", "zyxwvutsrq", "too easy"},
		{"two distinct characters", "a15@example.com", "abbbbbbbbba", "too easy"},
		{"a 36-character Russian passphrase", "a16@example.com", "тихий снег ложится на старые крыши", ""},
		{"Greek with accents", "a17@example.com", "καλημέρα θάλασσα ήλιε", ""},
		{"decomposed accents count once", "a18@example.com", "cafe\u0301 cre\u0300me", ""},
		{"full-width digits are common after NFKC", "a19@example.com", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", "too common"},
		{"common in full-width capitals", "a20@example.com", "\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24\uff11", "too common"},
		{"the email in full-width letters", "juniper.owl@example.com", "\uff4a\uff55\uff4e\uff49\uff50\uff45\uff52.\uff4f\uff57\uff4c", "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.svc.Register(context.Background(), tt.email, tt.password, auth.Client{})
			if tt.want == "" {
				if err != nil {
					t.Errorf("Register(%q, %q) error = %v, want nil", tt.email, tt.password, err)
				} else if u.Email != tt.email || u.Role != "user" {
					t.Errorf("Register(%q, ...) = %+v, want a user with that email and role user", tt.email, u)
				}
				return
			}
			var verr *auth.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Register(%q, %q) error = %v, want a *ValidationError", tt.email, tt.password, err)
			}
			if got := verr.Fields["password"]; !strings.Contains(got, tt.want) || len(verr.Fields) != 1 {
				t.Errorf("Register(%q, %q) fields = %v, want only password containing %q", tt.email, tt.password, verr.Fields, tt.want)
			}
		})
	}
}
