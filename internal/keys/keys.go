// Package keys parses, encodes and generates the signing keys of the server and describes them as JWKs.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
)

// The signing algorithms the server knows, as JOSE names them.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	PS256 = "PS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Algorithms lists every supported signing algorithm. Callers must not modify it.
var Algorithms = []string{HS256, RS256, PS256, ES256, EdDSA}

// minRSABits is the smallest RSA modulus accepted for RS256 and PS256.
const minRSABits = 2048

// generatedRSABits is the RSA modulus size of the keys Generate makes.
const generatedRSABits = 3072

var (
	// ErrNoPEM means the input holds no PEM block.
	ErrNoPEM = errors.New("no PEM block")
	// ErrUnsupportedKey means the PEM block or the key in it is of a type the server cannot use.
	ErrUnsupportedKey = errors.New("unsupported key type")
)

// IsAsymmetric reports whether alg is a supported algorithm that signs with a private key.
func IsAsymmetric(alg string) bool {
	return alg != HS256 && slices.Contains(Algorithms, alg)
}

// ParsePrivateKey parses the first private key of pemBytes: PKCS#8 ("PRIVATE KEY"),
// PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"); an "EC PARAMETERS" block before it is skipped.
// It returns an error wrapping ErrNoPEM when there is no block, ErrUnsupportedKey for another block
// type (encrypted keys included) or a key that is not RSA, ECDSA or Ed25519, or the parser's error.
func ParsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, err := keyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	return privateFromBlock(block)
}

// privateFromBlock parses the private key in block, as ParsePrivateKey describes.
func privateFromBlock(block *pem.Block) (crypto.Signer, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrUnsupportedKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return key.(crypto.Signer), nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

// ParsePublicKey parses the first public key of pemBytes: PKIX ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
// A private key PEM, as ParsePrivateKey reads it, gives its public half.
// It returns an error wrapping ErrNoPEM when there is no block, ErrUnsupportedKey for another block
// type or a key that is not RSA, ECDSA or Ed25519, or the parser's error.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, err := keyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		signer, perr := privateFromBlock(block)
		if perr != nil {
			return nil, perr
		}
		return signer.Public(), nil
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a public key", ErrUnsupportedKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

// keyBlock returns the first PEM block of data that is not "EC PARAMETERS"
// (OpenSSL writes one before an EC key), or an error wrapping ErrNoPEM.
func keyBlock(data []byte) (*pem.Block, error) {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, ErrNoPEM
		}
		if block.Type != "EC PARAMETERS" {
			return block, nil
		}
		data = rest
	}
}

// CheckAlgorithm reports whether pub can verify alg signatures: RS256 and PS256 need an RSA key
// of at least 2048 bits, ES256 an ECDSA P-256 key, EdDSA an Ed25519 key.
// It returns an error for a key of another type or size, for HS256 (which has no key) and for an unknown alg.
func CheckAlgorithm(alg string, pub crypto.PublicKey) error {
	switch alg {
	case RS256, PS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an RSA public key, got %T", alg, pub)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%s needs an RSA key of at least %d bits, got %d", alg, minRSABits, bits)
		}
		return nil
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an ECDSA public key, got %T", alg, pub)
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%s needs an ECDSA key on P-256, got %s", alg, k.Curve.Params().Name)
		}
		return nil
	case EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an Ed25519 public key, got %T", alg, pub)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%s needs an Ed25519 key of %d bytes, got %d", alg, ed25519.PublicKeySize, len(k))
		}
		return nil
	case HS256:
		return fmt.Errorf("%s signs with a shared secret, not a key", alg)
	default:
		return fmt.Errorf("unknown algorithm %q", alg)
	}
}

// Generate makes a new private key for alg: RSA 3072 bits for RS256 and PS256, ECDSA P-256 for ES256,
// Ed25519 for EdDSA. It returns an error for HS256, an unknown alg, or a failed generation.
func Generate(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256, PS256:
		k, err := rsa.GenerateKey(rand.Reader, generatedRSABits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return k, nil
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA key: %w", err)
		}
		return k, nil
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate Ed25519 key: %w", err)
		}
		return k, nil
	case HS256:
		return nil, fmt.Errorf("%s signs with a shared secret, not a key", alg)
	default:
		return nil, fmt.Errorf("unknown algorithm %q", alg)
	}
}

// EncodePrivatePEM encodes k as a PKCS#8 "PRIVATE KEY" PEM block.
// It returns an error wrapping ErrUnsupportedKey for a key that is not RSA, ECDSA or Ed25519.
func EncodePrivatePEM(k crypto.Signer) ([]byte, error) {
	switch k.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicPEM encodes pub as a PKIX "PUBLIC KEY" PEM block.
// It returns an error wrapping ErrUnsupportedKey for a key that is not RSA, ECDSA or Ed25519.
func EncodePublicPEM(pub crypto.PublicKey) ([]byte, error) {
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
