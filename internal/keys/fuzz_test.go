package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
)

// publicEqual is the Equal method every supported public key has.
type publicEqual interface{ Equal(crypto.PublicKey) bool }

// FuzzParseKeys feeds any bytes to ParsePrivateKey and ParsePublicKey, as JWT_PRIVATE_KEY_FILE and
// JWT_VERIFY_KEY_FILES would. Neither may panic; a key either returns is of a supported type,
// survives encoding and parsing again, and has a kid; a private key's PEM also gives its public half.
func FuzzParseKeys(f *testing.F) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024) // small: the fuzzer re-parses it many times
	if err != nil {
		f.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	ecParams := p256Params()
	f.Add(pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)))
	f.Add(pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)))
	f.Add(append(ecParams, pemOf("EC PRIVATE KEY", sec1)...))
	for _, k := range []crypto.Signer{rsaKey, ecKey, p384, edKey} {
		priv, err := EncodePrivatePEM(k)
		if err != nil {
			f.Fatal(err)
		}
		pub, err := EncodePublicPEM(k.Public())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(priv)
		f.Add(pub)
	}
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Add(ecParams)

	f.Fuzz(func(t *testing.T, data []byte) {
		if signer, err := ParsePrivateKey(data); err == nil {
			checkPublic(t, "ParsePrivateKey", signer.Public())
			again, err := EncodePrivatePEM(signer)
			if err != nil {
				t.Fatalf("EncodePrivatePEM(parsed %T) error: %v", signer, err)
			}
			back, err := ParsePrivateKey(again)
			if err != nil || !back.Public().(publicEqual).Equal(signer.Public()) {
				t.Fatalf("ParsePrivateKey(EncodePrivatePEM(key)) = %v, %v; want the same key", back, err)
			}
			pub, err := ParsePublicKey(data)
			if err != nil || !pub.(publicEqual).Equal(signer.Public()) {
				t.Fatalf("ParsePublicKey(private key PEM) = %v, %v; want its public half", pub, err)
			}
		} else if signer != nil {
			t.Fatalf("ParsePrivateKey error %v with a key %T", err, signer)
		}
		if pub, err := ParsePublicKey(data); err == nil {
			checkPublic(t, "ParsePublicKey", pub)
		} else if pub != nil {
			t.Fatalf("ParsePublicKey error %v with a key %T", err, pub)
		}
	})
}

// checkPublic checks a parsed public key: a supported type, a kid, and an exact round trip.
func checkPublic(t *testing.T, call string, pub crypto.PublicKey) {
	t.Helper()
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		t.Fatalf("%s gave a key of type %T", call, pub)
	}
	if _, err := KID(pub); err != nil {
		t.Fatalf("KID(key from %s) error: %v", call, err)
	}
	encoded, err := EncodePublicPEM(pub)
	if err != nil {
		t.Fatalf("EncodePublicPEM(key from %s) error: %v", call, err)
	}
	back, err := ParsePublicKey(encoded)
	if err != nil || !back.(publicEqual).Equal(pub) {
		t.Fatalf("ParsePublicKey(EncodePublicPEM(key from %s)) = %v, %v; want the same key", call, back, err)
	}
}
