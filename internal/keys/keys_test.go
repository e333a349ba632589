package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
)

// mustRSA returns a fresh RSA key of bits bits.
func mustRSA(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatalf("rsa.GenerateKey(%d) error: %v", bits, err)
	}
	return k
}

// mustECDSA returns a fresh ECDSA key on curve.
func mustECDSA(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey(%s) error: %v", curve.Params().Name, err)
	}
	return k
}

// mustEd25519 returns a fresh Ed25519 key.
func mustEd25519(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("ed25519.GenerateKey error: %v", err)
	}
	return k
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// p256Params is the block OpenSSL's "ecparam -genkey" writes before an EC key: the P-256 curve OID.
func p256Params() []byte {
	return pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
}

func TestIsAsymmetric(t *testing.T) {
	tests := []struct {
		alg  string
		want bool
	}{
		{HS256, false},
		{RS256, true},
		{PS256, true},
		{ES256, true},
		{EdDSA, true},
		{"none", false},
		{"rs256", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			if got := IsAsymmetric(tt.alg); got != tt.want {
				t.Errorf("IsAsymmetric(%q) = %v, want %v", tt.alg, got, tt.want)
			}
		})
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	tests := []struct {
		alg     string
		wantKty string
		check   func(t *testing.T, k crypto.Signer)
	}{
		{RS256, "RSA", checkRSABits(generatedRSABits)},
		{PS256, "RSA", checkRSABits(generatedRSABits)},
		{ES256, "EC", func(t *testing.T, k crypto.Signer) {
			if c := k.(*ecdsa.PrivateKey).Curve; c != elliptic.P256() {
				t.Errorf("Generate(ES256) curve = %s, want P-256", c.Params().Name)
			}
		}},
		{EdDSA, "OKP", func(t *testing.T, k crypto.Signer) {
			if _, ok := k.(ed25519.PrivateKey); !ok {
				t.Errorf("Generate(EdDSA) = %T, want ed25519.PrivateKey", k)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			k, err := Generate(tt.alg)
			if err != nil {
				t.Fatalf("Generate(%q) error: %v", tt.alg, err)
			}
			tt.check(t, k)
			pub := k.Public()
			if err := CheckAlgorithm(tt.alg, pub); err != nil {
				t.Errorf("CheckAlgorithm(%q, generated key) = %v, want nil", tt.alg, err)
			}

			privPEM, err := EncodePrivatePEM(k)
			if err != nil {
				t.Fatalf("EncodePrivatePEM error: %v", err)
			}
			if !strings.HasPrefix(string(privPEM), "-----BEGIN PRIVATE KEY-----\n") {
				t.Errorf("EncodePrivatePEM = %q, want a PRIVATE KEY block", privPEM)
			}
			back, err := ParsePrivateKey(privPEM)
			if err != nil {
				t.Fatalf("ParsePrivateKey(EncodePrivatePEM(k)) error: %v", err)
			}
			if eq, ok := back.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !eq.Equal(k) {
				t.Errorf("ParsePrivateKey(EncodePrivatePEM(k)) = %T, not equal to k", back)
			}

			pubPEM, err := EncodePublicPEM(pub)
			if err != nil {
				t.Fatalf("EncodePublicPEM error: %v", err)
			}
			if !strings.HasPrefix(string(pubPEM), "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("EncodePublicPEM = %q, want a PUBLIC KEY block", pubPEM)
			}
			for name, in := range map[string][]byte{"public PEM": pubPEM, "private PEM": privPEM} {
				got, err := ParsePublicKey(in)
				if err != nil {
					t.Fatalf("ParsePublicKey(%s) error: %v", name, err)
				}
				if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
					t.Errorf("ParsePublicKey(%s) = %T, not equal to the generated public key", name, got)
				}
			}

			kid, err := KID(pub)
			if err != nil {
				t.Fatalf("KID error: %v", err)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(kid); err != nil || len(raw) != sha256.Size {
				t.Errorf("KID = %q, want %d base64url bytes (decode error %v)", kid, sha256.Size, err)
			}
			j, err := PublicJWK(tt.alg, pub)
			if err != nil {
				t.Fatalf("PublicJWK(%q) error: %v", tt.alg, err)
			}
			if j.KID != kid || j.Alg != tt.alg || j.Use != "sig" || j.Kty != tt.wantKty {
				t.Errorf("PublicJWK(%q) = kid %q alg %q use %q kty %q, want %q %q %q %q",
					tt.alg, j.KID, j.Alg, j.Use, j.Kty, kid, tt.alg, "sig", tt.wantKty)
			}
		})
	}
}

func checkRSABits(bits int) func(t *testing.T, k crypto.Signer) {
	return func(t *testing.T, k crypto.Signer) {
		t.Helper()
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			t.Fatalf("Generate = %T, want *rsa.PrivateKey", k)
		}
		if got := rk.N.BitLen(); got != bits {
			t.Errorf("Generate RSA key size = %d bits, want %d", got, bits)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	for _, alg := range []string{HS256, "none", "RS512", ""} {
		t.Run(alg, func(t *testing.T) {
			if k, err := Generate(alg); err == nil {
				t.Errorf("Generate(%q) = %T, nil; want an error", alg, k)
			}
		})
	}
}

func TestParsePrivateKeyFormats(t *testing.T) {
	rsaKey := mustRSA(t, 2048)
	ecKey := mustECDSA(t, elliptic.P256())
	edKey := mustEd25519(t)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := p256Params()

	tests := []struct {
		name string
		in   []byte
		want crypto.PublicKey
	}{
		{"PKCS#1 RSA", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey.Public()},
		{"SEC 1 EC", pemOf("EC PRIVATE KEY", sec1), ecKey.Public()},
		{"SEC 1 EC after EC PARAMETERS", append(ecParams, pemOf("EC PRIVATE KEY", sec1)...), ecKey.Public()},
		{"PKCS#8 Ed25519 with text around", append([]byte("key:\n"), pemOf("PRIVATE KEY", edPKCS8)...), edKey.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tt.in)
			if err != nil {
				t.Fatalf("ParsePrivateKey(%s) error: %v", tt.name, err)
			}
			if !tt.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public()) {
				t.Errorf("ParsePrivateKey(%s) = key with another public half, want the encoded key", tt.name)
			}
		})
	}
}

func TestParsePublicKeyFormats(t *testing.T) {
	rsaKey := mustRSA(t, 2048)
	ecKey := mustECDSA(t, elliptic.P256())
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want crypto.PublicKey
	}{
		{"PKCS#1 RSA public", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), rsaKey.Public()},
		{"PKCS#1 RSA private", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey.Public()},
		{"SEC 1 EC private", pemOf("EC PRIVATE KEY", sec1), ecKey.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKey(tt.in)
			if err != nil {
				t.Fatalf("ParsePublicKey(%s) error: %v", tt.name, err)
			}
			if !tt.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
				t.Errorf("ParsePublicKey(%s) = %T, not the encoded key", tt.name, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xPriv, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	xPub, err := x509.MarshalPKIXPublicKey(x25519.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	edPub, err := x509.MarshalPKIXPublicKey(mustEd25519(t).Public())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		in         []byte
		private    bool  // ParsePrivateKey instead of ParsePublicKey
		wantSentry error // nil: any error
	}{
		{"empty private", nil, true, ErrNoPEM},
		{"empty public", nil, false, ErrNoPEM},
		{"not PEM private", []byte("hello"), true, ErrNoPEM},
		{"not PEM public", []byte("hello"), false, ErrNoPEM},
		{"only EC PARAMETERS", pemOf("EC PARAMETERS", []byte{1}), true, ErrNoPEM},
		{"certificate as private", pemOf("CERTIFICATE", []byte{1}), true, ErrUnsupportedKey},
		{"certificate as public", pemOf("CERTIFICATE", []byte{1}), false, ErrUnsupportedKey},
		{"encrypted private", pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), true, ErrUnsupportedKey},
		{"public as private", pemOf("PUBLIC KEY", edPub), true, ErrUnsupportedKey},
		{"X25519 private", pemOf("PRIVATE KEY", xPriv), true, ErrUnsupportedKey},
		{"X25519 private as public", pemOf("PRIVATE KEY", xPriv), false, ErrUnsupportedKey},
		{"X25519 public", pemOf("PUBLIC KEY", xPub), false, ErrUnsupportedKey},
		{"corrupt PKCS#8", pemOf("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), true, nil},
		{"corrupt PKCS#1", pemOf("RSA PRIVATE KEY", []byte{0x30}), true, nil},
		{"corrupt SEC 1", pemOf("EC PRIVATE KEY", []byte{0x30}), true, nil},
		{"corrupt PKIX", pemOf("PUBLIC KEY", []byte{0x30}), false, nil},
		{"corrupt PKCS#1 public", pemOf("RSA PUBLIC KEY", []byte{0x30}), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got any
				err error
			)
			if tt.private {
				got, err = ParsePrivateKey(tt.in)
			} else {
				got, err = ParsePublicKey(tt.in)
			}
			if err == nil {
				t.Fatalf("parse(%s) = %T, nil; want an error", tt.name, got)
			}
			if tt.wantSentry != nil && !errors.Is(err, tt.wantSentry) {
				t.Errorf("parse(%s) error = %v, want %v", tt.name, err, tt.wantSentry)
			}
			if tt.wantSentry == nil && (errors.Is(err, ErrNoPEM) || errors.Is(err, ErrUnsupportedKey)) {
				t.Errorf("parse(%s) error = %v, want the DER parser's error", tt.name, err)
			}
		})
	}
}

func TestCheckAlgorithm(t *testing.T) {
	rsa2048 := mustRSA(t, 2048).Public()
	rsa1024 := mustRSA(t, 1024).Public()
	p256 := mustECDSA(t, elliptic.P256()).Public()
	p384 := mustECDSA(t, elliptic.P384()).Public()
	ed := mustEd25519(t).Public()

	tests := []struct {
		name    string
		alg     string
		pub     crypto.PublicKey
		wantErr bool
	}{
		{"RS256 RSA 2048", RS256, rsa2048, false},
		{"PS256 RSA 2048", PS256, rsa2048, false},
		{"ES256 P-256", ES256, p256, false},
		{"EdDSA Ed25519", EdDSA, ed, false},
		{"RS256 RSA 1024", RS256, rsa1024, true},
		{"PS256 RSA 1024", PS256, rsa1024, true},
		{"RS256 Ed25519", RS256, ed, true},
		{"PS256 P-256", PS256, p256, true},
		{"ES256 P-384", ES256, p384, true},
		{"ES256 RSA", ES256, rsa2048, true},
		{"EdDSA P-256", EdDSA, p256, true},
		{"EdDSA short Ed25519", EdDSA, ed25519.PublicKey(make([]byte, 31)), true},
		{"HS256", HS256, rsa2048, true},
		{"none", "none", rsa2048, true},
		{"lower-case rs256", "rs256", rsa2048, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAlgorithm(tt.alg, tt.pub)
			if (err != nil) != tt.wantErr {
				t.Errorf("CheckAlgorithm(%q, %T) = %v, want error %v", tt.alg, tt.pub, err, tt.wantErr)
			}
		})
	}
}

// b64Int decodes a base64url big-endian integer of a test vector.
func b64Int(t *testing.T, s string) *big.Int {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return new(big.Int).SetBytes(b)
}

func TestKIDVectors(t *testing.T) {
	// RFC 7638 section 3.1.
	n := b64Int(t, "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	e := b64Int(t, "AQAB")
	// RFC 8037 appendix A.3.
	edX, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{"RFC 7638 RSA", &rsa.PublicKey{N: n, E: int(e.Int64())}, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 Ed25519", ed25519.PublicKey(edX), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KID(tt.pub)
			if err != nil {
				t.Fatalf("KID(%s) error: %v", tt.name, err)
			}
			if got != tt.want {
				t.Errorf("KID(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestKIDECDSA checks the EC thumbprint against one built independently:
// the coordinates are cut from the PKIX encoding and the JSON is made by encoding/json, which sorts map keys.
func TestKIDECDSA(t *testing.T) {
	k := mustECDSA(t, elliptic.P256())
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	point := der[len(der)-65:] // 0x04 | x | y ends a P-256 SubjectPublicKeyInfo
	b64 := base64.RawURLEncoding.EncodeToString
	canonical, err := json.Marshal(map[string]string{"crv": "P-256", "kty": "EC", "x": b64(point[1:33]), "y": b64(point[33:])})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canonical)
	want := b64(sum[:])

	got, err := KID(k.Public())
	if err != nil {
		t.Fatalf("KID(P-256 key) error: %v", err)
	}
	if got != want {
		t.Errorf("KID(P-256 key) = %q, want %q (thumbprint of %s)", got, want, canonical)
	}
}

// fakeSigner is a crypto.Signer of a type the package does not support.
type fakeSigner struct{}

func (fakeSigner) Public() crypto.PublicKey { return fakePublic{} }
func (fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("fake signer cannot sign")
}

type fakePublic struct{}

func TestUnsupportedKeyTypes(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"EncodePrivatePEM(fake)", func() error { _, err := EncodePrivatePEM(fakeSigner{}); return err }},
		{"EncodePublicPEM(fake)", func() error { _, err := EncodePublicPEM(fakePublic{}); return err }},
		{"EncodePublicPEM(X25519)", func() error { _, err := EncodePublicPEM(x25519.PublicKey()); return err }},
		{"KID(fake)", func() error { _, err := KID(fakePublic{}); return err }},
		{"KID(X25519)", func() error { _, err := KID(x25519.PublicKey()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("%s error = %v, want %v", tt.name, err, ErrUnsupportedKey)
			}
		})
	}
}

func TestPublicJWK(t *testing.T) {
	rsaKey := mustRSA(t, 2048)
	ecKey := mustECDSA(t, elliptic.P256())
	edKey := mustEd25519(t)
	rsaMembers := []string{"kty", "kid", "use", "alg", "n", "e"}

	tests := []struct {
		name        string
		alg         string
		pub         crypto.PublicKey
		wantMembers []string
		wantValues  map[string]string
		wantErr     bool
	}{
		{"RS256", RS256, rsaKey.Public(), rsaMembers, map[string]string{"kty": "RSA", "e": "AQAB", "use": "sig", "alg": RS256}, false},
		{"PS256", PS256, rsaKey.Public(), rsaMembers, map[string]string{"kty": "RSA", "e": "AQAB", "alg": PS256}, false},
		{"ES256", ES256, ecKey.Public(), []string{"kty", "kid", "use", "alg", "crv", "x", "y"}, map[string]string{"kty": "EC", "crv": "P-256", "alg": ES256}, false},
		{"EdDSA", EdDSA, edKey.Public(), []string{"kty", "kid", "use", "alg", "crv", "x"},
			map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": EdDSA, "x": base64.RawURLEncoding.EncodeToString(edKey.Public().(ed25519.PublicKey))}, false},
		{"ES256 with RSA key", ES256, rsaKey.Public(), nil, nil, true},
		{"HS256", HS256, rsaKey.Public(), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := PublicJWK(tt.alg, tt.pub)
			if tt.wantErr {
				if err == nil {
					t.Errorf("PublicJWK(%q, %T) = %+v, nil; want an error", tt.alg, tt.pub, j)
				}
				return
			}
			if err != nil {
				t.Fatalf("PublicJWK(%q, %T) error: %v", tt.alg, tt.pub, err)
			}
			raw, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			var members map[string]string
			if err := json.Unmarshal(raw, &members); err != nil {
				t.Fatal(err)
			}
			names := slices.Sorted(maps.Keys(members))
			if want := slices.Sorted(slices.Values(tt.wantMembers)); !slices.Equal(names, want) {
				t.Errorf("json.Marshal(PublicJWK(%q)) = %s, want members %v", tt.alg, raw, want)
			}
			for name, want := range tt.wantValues {
				if members[name] != want {
					t.Errorf("PublicJWK(%q) member %q = %q, want %q", tt.alg, name, members[name], want)
				}
			}
		})
	}
}
