package passkeys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/clocktest"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/passkeys/passkeytest"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

const (
	testRPID   = "example.com"
	testOrigin = "https://app.example.com"
)

// fixture is a passkey service on a test clock over a real store, with two users.
type fixture struct {
	svc        *passkeys.Service
	store      *store.Store
	clock      *clocktest.Clock
	alice, bob models.User
}

// eachBackend runs fn once per database storetest offers (PostgreSQL when TEST_DATABASE_URL
// is set, and SQLite).
func eachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

func newFixture(t *testing.T, b storetest.Backend) *fixture {
	t.Helper()
	st := b.Open(t)
	f := &fixture{store: st, clock: clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	svc, err := passkeys.New(passkeys.Config{RPID: testRPID, RPName: "Example", Origins: []string{testOrigin}}, st, f.clock.Now)
	if err != nil {
		t.Fatalf("passkeys.New: %v", err)
	}
	f.svc = svc
	return f.withNewUsers(t)
}

// withNewUsers returns f with a fresh alice and bob in its store: table tests share one store
// (creating a database per case is slow) and keep their cases apart by user.
func (f *fixture) withNewUsers(t *testing.T) *fixture {
	t.Helper()
	g := *f
	tag := uuid.NewString()[:8]
	g.alice = models.User{ID: uuid.NewString(), Email: "alice-" + tag + "@example.com", PasswordHash: "x", Role: models.RoleUser}
	g.bob = models.User{ID: uuid.NewString(), Email: "bob-" + tag + "@example.com", PasswordHash: "x", Role: models.RoleUser}
	for _, u := range []*models.User{&g.alice, &g.bob} {
		if err := f.store.CreateUser(context.Background(), u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Email, err)
		}
	}
	return &g
}

func toJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return b
}

// beginRegistration starts a registration for u and returns the challenge id and options JSON.
func (f *fixture) beginRegistration(t *testing.T, u models.User) (string, []byte) {
	t.Helper()
	id, opts, err := f.svc.BeginRegistration(context.Background(), u.ID, u.Email)
	if err != nil {
		t.Fatalf("BeginRegistration(%s): %v", u.Email, err)
	}
	return id, toJSON(t, opts)
}

// beginLogin starts a login for email ("" for username-less) and returns the id and options JSON.
func (f *fixture) beginLogin(t *testing.T, email string) (string, []byte) {
	t.Helper()
	id, opts, err := f.svc.BeginLogin(context.Background(), email)
	if err != nil {
		t.Fatalf("BeginLogin(%q): %v", email, err)
	}
	return id, toJSON(t, opts)
}

// register registers a new software authenticator for u and returns it with its passkey.
func (f *fixture) register(t *testing.T, u models.User) (*passkeytest.Authenticator, *models.Passkey) {
	t.Helper()
	a := passkeytest.New(t, testOrigin)
	id, opts := f.beginRegistration(t, u)
	p, err := f.svc.FinishRegistration(context.Background(), u.ID, id, a.Create(t, opts), "")
	if err != nil {
		t.Fatalf("FinishRegistration(%s): %v", u.Email, err)
	}
	return a, p
}

// login runs a username-less login with a and returns FinishLogin's result.
func (f *fixture) login(t *testing.T, a *passkeytest.Authenticator) (*models.Passkey, error) {
	t.Helper()
	id, opts := f.beginLogin(t, "")
	return f.svc.FinishLogin(context.Background(), id, a.Get(t, opts))
}

func TestRegisterAndLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		a := passkeytest.New(t, testOrigin)
		a.BackupEligible, a.BackupState = true, true
		id, opts := f.beginRegistration(t, f.alice)
		p, err := f.svc.FinishRegistration(ctx, f.alice.ID, id, a.Create(t, opts), "  Laptop  ")
		if err != nil {
			t.Fatalf("FinishRegistration: %v", err)
		}
		if p.UserID != f.alice.ID || p.Name != "Laptop" || string(p.CredentialID) != string(a.CredentialID()) ||
			p.Transports != "internal" || len(p.AAGUID) != 16 || p.AttestationFormat != "none" ||
			!p.BackupEligible || !p.BackupState || p.SignCount != 0 || p.LastUsedAt != nil ||
			!p.CreatedAt.Equal(f.clock.Now()) || len(p.PublicKey) == 0 {
			t.Fatalf("FinishRegistration = %+v, want alice's passkey named Laptop, transports internal, never used", p)
		}

		f.clock.Advance(time.Minute)
		got, err := f.login(t, a)
		if err != nil {
			t.Fatalf("FinishLogin: %v", err)
		}
		if got.ID != p.ID || got.User == nil || got.User.ID != f.alice.ID || got.SignCount != 1 ||
			got.LastUsedAt == nil || !got.LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("FinishLogin = %+v, want alice's passkey with counter 1 used now", got)
		}
		list, err := f.store.Passkeys(ctx, f.alice.ID)
		if err != nil || len(list) != 1 || list[0].SignCount != 1 || list[0].LastUsedAt == nil {
			t.Fatalf("List(alice) = %+v, %v; want the passkey with counter 1 and a last use", list, err)
		}

		// A second passkey for the same user; the first is then excluded from registration.
		f.register(t, f.alice)
		_, opts = f.beginRegistration(t, f.alice)
		var creation struct {
			ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
		}
		if err := json.Unmarshal(opts, &creation); err != nil || len(creation.ExcludeCredentials) != 2 ||
			creation.ExcludeCredentials[0].ID != a.CredentialIDString() {
			t.Fatalf("creation options after two registrations = %s, want both credentials excluded", opts)
		}
	})
}

func TestLoginWithEmail(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		ctx := context.Background()

		id, opts := f.beginLogin(t, f.alice.Email)
		if _, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts)); err != nil {
			t.Fatalf("FinishLogin for alice's email with alice's passkey: %v", err)
		}
		id, opts = f.beginLogin(t, f.bob.Email)
		if _, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts)); !errors.Is(err, passkeys.ErrInvalidAssertion) {
			t.Fatalf("FinishLogin for bob's email with alice's passkey = %v, want ErrInvalidAssertion", err)
		}
		id, opts = f.beginLogin(t, "nobody@example.com")
		if _, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts)); !errors.Is(err, passkeys.ErrInvalidAssertion) {
			t.Fatalf("FinishLogin for an unknown email = %v, want ErrInvalidAssertion", err)
		}
	})
}

func TestOptionsShape(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		_, creation := f.beginRegistration(t, f.alice)
		var c map[string]any
		if err := json.Unmarshal(creation, &c); err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"pubKeyCredParams", "excludeCredentials", "hints", "attestationFormats"} {
			if _, ok := c[list].([]any); !ok {
				t.Errorf("creation options %s = %v, want a JSON list", list, c[list])
			}
		}
		if _, wrapped := c["publicKey"]; wrapped {
			t.Errorf("creation options are wrapped in publicKey: %s", creation)
		}
		user := c["user"].(map[string]any)
		handle, err := base64.RawURLEncoding.DecodeString(user["id"].(string))
		if want := uuid.MustParse(f.alice.ID); err != nil || string(handle) != string(want[:]) {
			t.Errorf("user.id = %v, want base64url of alice's UUID bytes", user["id"])
		}
		if user["name"] != f.alice.Email || user["displayName"] != f.alice.Email {
			t.Errorf("user = %v, want alice's email as name and displayName", user)
		}
		sel := c["authenticatorSelection"].(map[string]any)
		if sel["userVerification"] != "required" || sel["residentKey"] != "required" || sel["requireResidentKey"] != true {
			t.Errorf("authenticatorSelection = %v, want a discoverable credential with user verification required", sel)
		}
		rp := c["rp"].(map[string]any)
		if rp["id"] != testRPID || rp["name"] != "Example" || c["attestation"] != "none" || c["timeout"] != float64(300000) {
			t.Errorf("rp = %v, attestation = %v, timeout = %v; want example.com/Example, none, 300000", rp, c["attestation"], c["timeout"])
		}
		challenge, err := base64.RawURLEncoding.DecodeString(c["challenge"].(string))
		if err != nil || len(challenge) < 16 {
			t.Errorf("challenge = %v, want at least 16 random bytes in base64url", c["challenge"])
		}

		// Login options: the same shape for no email, an account's email and an unknown one.
		f.register(t, f.alice)
		var shapes []string
		for _, email := range []string{"", f.alice.Email, "nobody@example.com"} {
			_, opts := f.beginLogin(t, email)
			var r map[string]any
			if err := json.Unmarshal(opts, &r); err != nil {
				t.Fatal(err)
			}
			allow, ok := r["allowCredentials"].([]any)
			if !ok || len(allow) != 0 || r["userVerification"] != "required" || r["rpId"] != testRPID {
				t.Errorf("login options for %q = %s, want allowCredentials [], userVerification required, rpId %s", email, opts, testRPID)
			}
			delete(r, "challenge")
			shapes = append(shapes, string(toJSON(t, r)))
		}
		if shapes[0] != shapes[1] || shapes[1] != shapes[2] {
			t.Errorf("login options differ beyond the challenge:\n%s\n%s\n%s", shapes[0], shapes[1], shapes[2])
		}
	})
}

func TestRegistrationRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		reason string // a substring of the error: the refusal happened for this reason
		tamper func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (user models.User, challengeID string, credential []byte)
	}{
		{"wrong origin", "origin", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			a.Origin = "https://evil.example.net"
			id, opts := f.beginRegistration(t, f.alice)
			return f.alice, id, a.Create(t, opts)
		}},
		{"wrong RP ID", "RP Hash", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			a.RPID = "evil.example.net"
			id, opts := f.beginRegistration(t, f.alice)
			return f.alice, id, a.Create(t, opts)
		}},
		{"no user verification", "User verification required", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			a.UserVerified = false
			id, opts := f.beginRegistration(t, f.alice)
			return f.alice, id, a.Create(t, opts)
		}},
		{"another user's challenge", "another user", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			id, opts := f.beginRegistration(t, f.alice)
			return f.bob, id, a.Create(t, opts)
		}},
		{"expired challenge", "expired", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			id, opts := f.beginRegistration(t, f.alice)
			f.clock.Advance(passkeys.ChallengeTTL)
			return f.alice, id, a.Create(t, opts)
		}},
		{"unknown challenge", "unknown or spent", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			_, opts := f.beginRegistration(t, f.alice)
			return f.alice, "bm90LWEtY2hhbGxlbmdl", a.Create(t, opts)
		}},
		{"empty challenge id", "no challenge id", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			_, opts := f.beginRegistration(t, f.alice)
			return f.alice, "", a.Create(t, opts)
		}},
		{"login challenge", "challenge is for login", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			_, opts := f.beginRegistration(t, f.alice)
			id, _ := f.beginLogin(t, "")
			return f.alice, id, a.Create(t, opts)
		}},
		{"signed for another challenge", "validating challenge", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (models.User, string, []byte) {
			_, opts := f.beginRegistration(t, f.alice)
			id, _ := f.beginRegistration(t, f.alice)
			return f.alice, id, a.Create(t, opts)
		}},
	}
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		base := newFixture(t, b)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := base.withNewUsers(t)
				u, id, cred := tt.tamper(t, f, passkeytest.New(t, testOrigin))
				p, err := f.svc.FinishRegistration(ctx, u.ID, id, cred, "")
				if !errors.Is(err, passkeys.ErrInvalidRegistration) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("FinishRegistration = %+v, %v; want ErrInvalidRegistration for %q", p, err, tt.reason)
				}
				if list, _ := f.store.Passkeys(ctx, u.ID); len(list) != 0 {
					t.Fatalf("after a refused registration the user has %d passkeys, want 0", len(list))
				}
			})
		}
	})
}

func TestRegistrationChallengeSingleUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		a := passkeytest.New(t, testOrigin)
		id, opts := f.beginRegistration(t, f.alice)
		cred := a.Create(t, opts)
		if _, err := f.svc.FinishRegistration(ctx, f.alice.ID, id, cred, ""); err != nil {
			t.Fatalf("first FinishRegistration: %v", err)
		}
		if _, err := f.svc.FinishRegistration(ctx, f.alice.ID, id, cred, ""); !errors.Is(err, passkeys.ErrInvalidRegistration) {
			t.Fatalf("replayed FinishRegistration = %v, want ErrInvalidRegistration", err)
		}
		// The same authenticator again, with a fresh challenge: its credential id is taken.
		id, opts = f.beginRegistration(t, f.bob)
		if _, err := f.svc.FinishRegistration(ctx, f.bob.ID, id, a.Create(t, opts), ""); !errors.Is(err, passkeys.ErrInvalidRegistration) {
			t.Fatalf("registering alice's credential id for bob = %v, want ErrInvalidRegistration", err)
		}
		if list, _ := f.store.Passkeys(ctx, f.alice.ID); len(list) != 1 {
			t.Fatalf("alice has %d passkeys, want 1", len(list))
		}
	})
}

func TestRegistrationChallengeExpiresAfterFiveMinutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a := passkeytest.New(t, testOrigin)
		id, opts := f.beginRegistration(t, f.alice)
		f.clock.Advance(passkeys.ChallengeTTL - time.Second)
		if _, err := f.svc.FinishRegistration(context.Background(), f.alice.ID, id, a.Create(t, opts), ""); err != nil {
			t.Fatalf("FinishRegistration one second before expiry: %v", err)
		}
	})
}

func TestTooManyPasskeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		for range passkeys.MaxPerUser {
			f.register(t, f.alice)
		}
		id, opts := f.beginRegistration(t, f.alice)
		_, err := f.svc.FinishRegistration(context.Background(), f.alice.ID, id, passkeytest.New(t, testOrigin).Create(t, opts), "")
		if !errors.Is(err, passkeys.ErrTooMany) {
			t.Fatalf("registration beyond %d passkeys = %v, want ErrTooMany", passkeys.MaxPerUser, err)
		}
	})
}

func TestLoginRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		reason string // a substring of the error: the refusal happened for this reason
		// attempt returns the challenge id and credential JSON to finish with.
		attempt func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte)
	}{
		{"wrong origin", "origin", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			a.Origin = "https://app.example.com.evil.net"
			id, opts := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
		{"wrong RP ID", "RP Hash", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			a.RPID = "evil.example.net"
			id, opts := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
		{"no user verification", "User verification required", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			a.UserVerified = false
			id, opts := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
		{"expired challenge", "expired", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			id, opts := f.beginLogin(t, "")
			f.clock.Advance(passkeys.ChallengeTTL)
			return id, a.Get(t, opts)
		}},
		{"unknown challenge", "unknown or spent", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			_, opts := f.beginLogin(t, "")
			return "bm90LWEtY2hhbGxlbmdl", a.Get(t, opts)
		}},
		{"registration challenge", "challenge is for registration", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			_, opts := f.beginLogin(t, "")
			id, _ := f.beginRegistration(t, f.alice)
			return id, a.Get(t, opts)
		}},
		{"signed for another challenge", "validating challenge", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			_, opts := f.beginLogin(t, "")
			id, _ := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
		{"replayed assertion", "validating challenge", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			id, opts := f.beginLogin(t, "")
			cred := a.Get(t, opts)
			if _, err := f.svc.FinishLogin(ctx, id, cred); err != nil {
				t.Fatalf("first FinishLogin: %v", err)
			}
			fresh, _ := f.beginLogin(t, "")
			return fresh, cred
		}},
		{"another user's handle", "user handle", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			bob := uuid.MustParse(f.bob.ID)
			a.UserHandle = bob[:]
			id, opts := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
		{"unregistered authenticator", "unknown credential", func(t *testing.T, f *fixture, _ *passkeytest.Authenticator) (string, []byte) {
			other := passkeytest.New(t, testOrigin)
			alice := uuid.MustParse(f.alice.ID)
			other.UserHandle = alice[:]
			id, opts := f.beginLogin(t, "")
			return id, other.Get(t, opts)
		}},
		{"deleted credential", "unknown credential", func(t *testing.T, f *fixture, a *passkeytest.Authenticator) (string, []byte) {
			list, _ := f.store.Passkeys(ctx, f.alice.ID)
			if err := f.store.DeletePasskey(ctx, f.alice.ID, list[0].ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			id, opts := f.beginLogin(t, "")
			return id, a.Get(t, opts)
		}},
	}
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		base := newFixture(t, b)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := base.withNewUsers(t)
				a, _ := f.register(t, f.alice)
				id, cred := tt.attempt(t, f, a)
				p, err := f.svc.FinishLogin(ctx, id, cred)
				if !errors.Is(err, passkeys.ErrInvalidAssertion) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("FinishLogin = %+v, %v; want ErrInvalidAssertion for %q", p, err, tt.reason)
				}
			})
		}
	})
}

func TestLoginChallengeSingleUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		id, opts := f.beginLogin(t, "")
		first := a.Get(t, opts)
		if _, err := f.svc.FinishLogin(context.Background(), id, first); err != nil {
			t.Fatalf("first FinishLogin: %v", err)
		}
		// A fresh signature over the same challenge: the challenge is spent.
		if _, err := f.svc.FinishLogin(context.Background(), id, a.Get(t, opts)); !errors.Is(err, passkeys.ErrInvalidAssertion) {
			t.Fatalf("FinishLogin with a spent challenge = %v, want ErrInvalidAssertion", err)
		}
	})
}

func TestCounterRegression(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, p := f.register(t, f.alice)
		a.Counter = 41
		if _, err := f.login(t, a); err != nil {
			t.Fatalf("login with counter 42: %v", err)
		}
		for _, next := range []uint32{42, 10} { // the same counter again, then one that went backwards
			a.Counter = next - 1
			_, err := f.login(t, a)
			var ce *passkeys.CounterError
			if !errors.As(err, &ce) || !errors.Is(err, passkeys.ErrInvalidAssertion) {
				t.Fatalf("login with counter %d after 42 = %v, want a CounterError matching ErrInvalidAssertion", next, err)
			}
			if ce.PasskeyID != p.ID || ce.UserID != f.alice.ID || ce.Stored != 42 || ce.Got != next {
				t.Fatalf("CounterError = %+v, want passkey %s of alice, stored 42, got %d", ce, p.ID, next)
			}
		}
		// The clone refused, the genuine authenticator carries on.
		a.Counter = 42
		if got, err := f.login(t, a); err != nil || got.SignCount != 43 {
			t.Fatalf("login with counter 43 = %+v, %v; want success with counter 43", got, err)
		}
	})
}

func TestZeroCounterAccepted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		// Many passkey providers never count: 0 after 0 is no regression.
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		for i := range 2 {
			a.Counter = ^uint32(0) // Get adds one: 0
			if _, err := f.login(t, a); err != nil {
				t.Fatalf("login %d with counter 0: %v", i, err)
			}
		}
	})
}

func TestMalformedCredential(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		ctx := context.Background()
		_, regOpts := f.beginRegistration(t, f.alice)
		_, loginOpts := f.beginLogin(t, "")
		validCreate := a.Create(t, regOpts)
		validGet := a.Get(t, loginOpts)
		bad := map[string][]byte{
			"empty":                 nil,
			"null":                  []byte(`null`),
			"a string":              []byte(`"credential"`),
			"not JSON":              []byte(`{"id":`),
			"empty object":          []byte(`{}`),
			"id not base64url":      []byte(`{"id":"***","rawId":"***","type":"public-key","response":{}}`),
			"id and rawId differ":   []byte(`{"id":"AAAA","rawId":"BBBB","type":"public-key","response":{}}`),
			"wrong type":            []byte(`{"id":"AAAA","rawId":"AAAA","type":"password","response":{}}`),
			"response not object":   []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":7}`),
			"garbage binary fields": []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"AAAA","attestationObject":"AAAA","authenticatorData":"AAAA","signature":"AAAA"}}`),
			"truncated create":      validCreate[:len(validCreate)/2],
			"truncated get":         validGet[:len(validGet)/2],
			"create for get":        validCreate,
			"get for create":        validGet,
		}
		for name, cred := range bad {
			t.Run(name, func(t *testing.T) {
				if name != "create for get" {
					id, _ := f.beginRegistration(t, f.alice)
					if _, err := f.svc.FinishRegistration(ctx, f.alice.ID, id, cred, ""); !errors.Is(err, passkeys.ErrInvalidRegistration) {
						t.Errorf("FinishRegistration(%s) = %v, want ErrInvalidRegistration", name, err)
					}
				}
				if name != "get for create" {
					id, _ := f.beginLogin(t, "")
					if _, err := f.svc.FinishLogin(ctx, id, cred); !errors.Is(err, passkeys.ErrInvalidAssertion) {
						t.Errorf("FinishLogin(%s) = %v, want ErrInvalidAssertion", name, err)
					}
				}
			})
		}
	})
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  passkeys.Config
		want []string // substrings of the error, one per expected problem; none for a valid config
	}{
		{"https subdomain", passkeys.Config{RPID: "example.com", RPName: "x", Origins: []string{"https://app.example.com", "https://example.com:8443"}}, nil},
		{"localhost over http", passkeys.Config{RPID: "localhost", RPName: "x", Origins: []string{"http://localhost:5173"}}, nil},
		{"empty", passkeys.Config{}, []string{"WEBAUTHN_RP_ID", "WEBAUTHN_RP_NAME", "WEBAUTHN_ORIGINS"}},
		{"ip address", passkeys.Config{RPID: "127.0.0.1", RPName: "x", Origins: []string{"https://127.0.0.1"}}, []string{"WEBAUTHN_RP_ID"}},
		{"scheme in id", passkeys.Config{RPID: "https://example.com", RPName: "x", Origins: []string{"https://example.com"}}, []string{"WEBAUTHN_RP_ID"}},
		{"port in id", passkeys.Config{RPID: "example.com:443", RPName: "x", Origins: []string{"https://example.com"}}, []string{"WEBAUTHN_RP_ID"}},
		{"upper case id", passkeys.Config{RPID: "Example.com", RPName: "x", Origins: []string{"https://example.com"}}, []string{"WEBAUTHN_RP_ID"}},
		{"plain http", passkeys.Config{RPID: "example.com", RPName: "x", Origins: []string{"http://example.com"}}, []string{"must use https"}},
		{"foreign origin", passkeys.Config{RPID: "example.com", RPName: "x", Origins: []string{"https://example.org"}}, []string{"not on example.com"}},
		{"suffix is not a subdomain", passkeys.Config{RPID: "example.com", RPName: "x", Origins: []string{"https://badexample.com"}}, []string{"not on example.com"}},
		{"path in origin", passkeys.Config{RPID: "example.com", RPName: "x", Origins: []string{"https://example.com/app"}}, []string{"not an origin"}},
		{"long name", passkeys.Config{RPID: "example.com", RPName: strings.Repeat("n", 65), Origins: []string{"https://example.com"}}, []string{"WEBAUTHN_RP_NAME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check(%+v) = %v, want nil", tt.cfg, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%+v) = nil, want problems %q", tt.cfg, tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Check(%+v) gave %d problems, want %d: %v", tt.cfg, len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check(%+v) = %v, want it to mention %q", tt.cfg, err, w)
				}
			}
		})
	}
	if _, err := passkeys.New(passkeys.Config{RPID: "example.com"}, nil, time.Now); err == nil {
		t.Error("New with no origins and no name = nil error, want the configuration refused")
	}
}

func TestRPIDFromOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://App.Example.com:8443": "app.example.com",
		"http://localhost:5173":        "localhost",
		"not a url":                    "",
		"ftp://example.com":            "",
	} {
		if got := passkeys.RPIDFromOrigin(in); got != want {
			t.Errorf("RPIDFromOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentFinishesOfOneChallenge(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		id, opts := f.beginLogin(t, "")
		creds := [][]byte{a.Get(t, opts), a.Get(t, opts)}
		errs := make(chan error, len(creds))
		for _, cred := range creds {
			go func() {
				_, err := f.svc.FinishLogin(context.Background(), id, cred)
				errs <- err
			}()
		}
		var ok, refused int
		for range creds {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, passkeys.ErrInvalidAssertion):
				refused++
			default:
				t.Errorf("FinishLogin = %v, want success or ErrInvalidAssertion", err)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("two finishes of one challenge: %d succeeded, %d refused; want 1 and 1", ok, refused)
		}
	})
}

func TestClonedAuthenticatorsRacing(t *testing.T) {
	// Two copies of one key signing the same counter value at the same time, each with its own
	// challenge: only one login may pass, the other is a counter regression.
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		a, _ := f.register(t, f.alice)
		type attempt struct {
			id   string
			cred []byte
		}
		var attempts []attempt
		for range 2 {
			id, opts := f.beginLogin(t, "")
			a.Counter = 6 // both sign counter 7
			attempts = append(attempts, attempt{id, a.Get(t, opts)})
		}
		errs := make(chan error, len(attempts))
		for _, at := range attempts {
			go func() {
				_, err := f.svc.FinishLogin(context.Background(), at.id, at.cred)
				errs <- err
			}()
		}
		var ok, clones int
		for range attempts {
			var ce *passkeys.CounterError
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.As(err, &ce):
				clones++
			default:
				t.Errorf("FinishLogin = %v, want success or a CounterError", err)
			}
		}
		if ok != 1 || clones != 1 {
			t.Fatalf("racing clones: %d logins passed, %d counter errors; want 1 and 1", ok, clones)
		}
	})
}

func TestChallengeSharedAcrossInstances(t *testing.T) {
	// Two servers on one PostgreSQL database: a ceremony begun on one finishes on the other.
	dsn := storetest.PostgresDSN(t)
	var stores [2]*store.Store
	for i := range stores {
		st, err := store.Open(context.Background(), models.DriverPostgres, dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("open store %d: %v", i, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stores[i] = st
	}
	if err := stores[0].Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	alice := models.User{ID: uuid.NewString(), Email: "alice@example.com", PasswordHash: "x", Role: models.RoleUser}
	if err := stores[0].CreateUser(context.Background(), &alice); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	clock := clocktest.New(time.Now())
	var svcs [2]*passkeys.Service
	for i, st := range stores {
		svc, err := passkeys.New(passkeys.Config{RPID: testRPID, RPName: "Example", Origins: []string{testOrigin}}, st, clock.Now)
		if err != nil {
			t.Fatalf("passkeys.New: %v", err)
		}
		svcs[i] = svc
	}
	ctx := context.Background()
	a := passkeytest.New(t, testOrigin)
	id, opts, err := svcs[0].BeginRegistration(ctx, alice.ID, alice.Email)
	if err != nil {
		t.Fatalf("BeginRegistration on A: %v", err)
	}
	if _, err := svcs[1].FinishRegistration(ctx, alice.ID, id, a.Create(t, toJSON(t, opts)), ""); err != nil {
		t.Fatalf("FinishRegistration on B of a challenge from A: %v", err)
	}
	lid, lopts, err := svcs[1].BeginLogin(ctx, "")
	if err != nil {
		t.Fatalf("BeginLogin on B: %v", err)
	}
	cred := a.Get(t, toJSON(t, lopts))
	if _, err := svcs[0].FinishLogin(ctx, lid, cred); err != nil {
		t.Fatalf("FinishLogin on A of a challenge from B: %v", err)
	}
	if _, err := svcs[1].FinishLogin(ctx, lid, cred); !errors.Is(err, passkeys.ErrInvalidAssertion) {
		t.Fatalf("FinishLogin on B of the challenge A spent = %v, want ErrInvalidAssertion", err)
	}
}
