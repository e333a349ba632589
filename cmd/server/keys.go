package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/authserver/authserver/internal/keys"
)

// keysCommand runs `server keys generate --alg A [--out DIR]`: it writes <kid>.pem (private,
// mode 0600) and <kid>.pub.pem into DIR and prints both paths.
func keysCommand(args []string, stdout io.Writer) error {
	_, args, done, err := subcommand("keys", args, []string{"generate"}, keysUsage, stdout)
	if done || err != nil {
		return err
	}
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	alg := fs.String("alg", "", "RS256, PS256, ES256 or EdDSA")
	out := fs.String("out", ".", "directory to write the key pair into")
	if done, err := parseFlags(fs, args, keysUsage, stdout); done || err != nil {
		return err
	}
	if !keys.IsAsymmetric(*alg) {
		return fmt.Errorf("keys generate: --alg must be one of RS256, PS256, ES256, EdDSA (got %q)", *alg)
	}
	key, err := keys.Generate(*alg)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	kid, err := keys.KID(key.Public())
	if err != nil {
		return fmt.Errorf("key id: %w", err)
	}
	private, err := keys.EncodePrivatePEM(key)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	public, err := keys.EncodePublicPEM(key.Public())
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	privPath, pubPath := filepath.Join(*out, kid+".pem"), filepath.Join(*out, kid+".pub.pem")
	if err := writeNew(privPath, private, 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, public, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key: %s\npublic key:  %s\nkid:         %s\n", privPath, pubPath, kid)
	return nil
}

// writeNew writes data to a file that must not exist yet (an existing one is fs.ErrExist), with
// mode perm. A file it could not write whole is removed.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
