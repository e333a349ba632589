// Package passkeytest is a software WebAuthn authenticator for tests. It plays the browser and
// a platform authenticator together: it reads the options a server hands out and answers with
// the PublicKeyCredential JSON that PublicKeyCredential.toJSON() gives, signed with an ECDSA
// P-256 key, attestation format "none".
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1).
const (
	flagUserPresent    = 0x01
	flagUserVerified   = 0x04
	flagBackupEligible = 0x08
	flagBackupState    = 0x10
	flagAttestedData   = 0x40
)

// coseES256 is the COSE algorithm number of ECDSA with P-256 and SHA-256.
const coseES256 = -7

// Authenticator holds one credential. Its exported fields may be changed between ceremonies to
// play an attacker or a broken device.
type Authenticator struct {
	// Origin is the page origin the browser reports in clientDataJSON.
	Origin string
	// RPID, when set, is hashed into authenticatorData instead of the id the options name.
	RPID string
	// UserVerified sets the UV flag (a PIN or biometric was checked). New sets it.
	UserVerified bool
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible, BackupState bool
	// Counter is the signature counter: Create reports it, Get adds one and reports the result.
	Counter uint32
	// UserHandle is the user handle an assertion reports; Create sets it from the options.
	UserHandle []byte

	key          *ecdsa.PrivateKey
	credentialID []byte
}

// New returns an authenticator for pages of origin, with a fresh key and credential id, user
// verification on and counter 0.
func New(t testing.TB, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatalf("credential id: %v", err)
	}
	return &Authenticator{Origin: origin, UserVerified: true, key: key, credentialID: id}
}

// CredentialID returns the raw credential id.
func (a *Authenticator) CredentialID() []byte { return a.credentialID }

// CredentialIDString returns the credential id as base64url, as it appears in JSON.
func (a *Authenticator) CredentialIDString() string { return b64(a.credentialID) }

// Create answers creation options (the JSON publicKey dictionary) as navigator.credentials.create()
// would, returning the credential's JSON. It remembers the user handle for later assertions.
func (a *Authenticator) Create(t testing.TB, options []byte) []byte {
	t.Helper()
	var opts struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	mustUnmarshal(t, options, &opts)
	handle, err := base64.RawURLEncoding.DecodeString(opts.User.ID)
	if err != nil {
		t.Fatalf("creation options user.id %q: %v", opts.User.ID, err)
	}
	a.UserHandle = handle
	clientData := a.clientData(t, "webauthn.create", opts.Challenge)

	x, y := a.key.X.FillBytes(make([]byte, 32)), a.key.Y.FillBytes(make([]byte, 32))
	coseKey := mustCBOR(t, map[int]any{1: 2, 3: coseES256, -1: 1, -2: x, -3: y})
	attested := make([]byte, 0, 18+len(a.credentialID)+len(coseKey))
	attested = append(attested, make([]byte, 16)...) // AAGUID: zeros, as passkey providers send
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credentialID)))
	attested = append(attested, a.credentialID...)
	attested = append(attested, coseKey...)
	authData := append(a.authData(opts.RP.ID, flagAttestedData), attested...)
	attestation := mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})

	spki, err := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return a.credential(t, map[string]any{
		"clientDataJSON":     b64(clientData),
		"attestationObject":  b64(attestation),
		"authenticatorData":  b64(authData),
		"transports":         []string{"internal"},
		"publicKey":          b64(spki),
		"publicKeyAlgorithm": coseES256,
	})
}

// Get answers request options (the JSON publicKey dictionary) as navigator.credentials.get()
// would, adding one to Counter and signing; it returns the assertion's JSON.
func (a *Authenticator) Get(t testing.TB, options []byte) []byte {
	t.Helper()
	var opts struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	mustUnmarshal(t, options, &opts)
	clientData := a.clientData(t, "webauthn.get", opts.Challenge)
	a.Counter++
	authData := a.authData(opts.RPID, 0)
	clientHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(authData[:len(authData):len(authData)], clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatalf("sign assertion: %v", err)
	}
	return a.credential(t, map[string]any{
		"clientDataJSON":    b64(clientData),
		"authenticatorData": b64(authData),
		"signature":         b64(sig),
		"userHandle":        b64(a.UserHandle),
	})
}

// credential wraps an authenticator response in the PublicKeyCredential JSON.
func (a *Authenticator) credential(t testing.TB, response map[string]any) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{
		"id":                      b64(a.credentialID),
		"rawId":                   b64(a.credentialID),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response":                response,
	})
}

// clientData builds the clientDataJSON the browser would for a ceremony of type typ.
func (a *Authenticator) clientData(t testing.TB, typ, challenge string) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
}

// authData builds the authenticator data up to and excluding attested credential data:
// the RP ID hash, the flags (extra added to those the fields ask for) and the counter.
func (a *Authenticator) authData(rpID string, extra byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	hash := sha256.Sum256([]byte(rpID))
	flags := flagUserPresent | extra
	if a.UserVerified {
		flags |= flagUserVerified
	}
	if a.BackupEligible {
		flags |= flagBackupEligible
	}
	if a.BackupState {
		flags |= flagBackupState
	}
	out := append(hash[:], flags)
	return binary.BigEndian.AppendUint32(out, a.Counter)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode JSON: %v", err)
	}
	return b
}

func mustUnmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode options %s: %v", data, err)
	}
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	mode, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatalf("CBOR mode: %v", err)
	}
	b, err := mode.Marshal(v)
	if err != nil {
		t.Fatalf("encode CBOR: %v", err)
	}
	return b
}
