package auth

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// policyEmail is the account the policy tests check passwords for.
const policyEmail = "someone@example.com"

// runes lists the code points from first to last.
func runes(first, last rune) []rune {
	out := make([]rune, 0, last-first+1)
	for r := first; r <= last; r++ {
		out = append(out, r)
	}
	return out
}

// scripts are the letters random passphrases are made of, one writing system each. decompose
// says whether some passphrases are written in NFD, as some keyboards and systems send them.
var scripts = []struct {
	name      string
	letters   []rune
	decompose bool
}{
	{"Cyrillic", runes('а', 'я'), false},
	{"Greek", []rune("αβγδεζηθικλμνξοπρστυφχψωάέήίόύώ"), true},
	{"CJK", runes(0x4E00, 0x9FFF), false},
	{"Arabic", runes(0x0627, 0x064A), false},
	{"Devanagari", append(runes(0x0915, 0x0939), runes(0x093E, 0x094C)...), false},
	{"accented Latin", []rune("àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćčďđēėęěğīįķĺľłńňőœřśşšťūůűųźżž"), true},
	{"Hangul", runes(0xAC00, 0xD7A3), true},
	{"emoji", runes(0x1F300, 0x1F5FF), false},
}

// passphrase makes a random passphrase of words of 2 to 7 letters joined by spaces, of at least
// minLen code points and at most 72 bytes in NFKC form; ok is false when the words drawn did not fit.
func passphrase(rng *rand.Rand, letters []rune, decompose bool, minLen int) (p string, ok bool) {
	var words []string
	for {
		w := make([]rune, 2+rng.IntN(6))
		for n := range w {
			w[n] = letters[rng.IntN(len(letters))]
		}
		word := string(w)
		if decompose && rng.IntN(2) == 0 {
			word = norm.NFD.String(word)
		}
		candidate := strings.Join(append(words, word), " ")
		if len(normalisePassword(candidate)) > maxPasswordBytes {
			break
		}
		words = append(words, word)
		if utf8.RuneCountInString(normalisePassword(candidate)) >= minLen+4 && rng.IntN(3) == 0 {
			break
		}
	}
	p = strings.Join(words, " ")
	return p, utf8.RuneCountInString(normalisePassword(p)) >= minLen
}

// TestPolicyAcceptsPassphrasesInEveryScript is the property that the estimator this policy
// replaced broke: random passphrases of any script, within the length limits, are accepted.
func TestPolicyAcceptsPassphrasesInEveryScript(t *testing.T) {
	const perScript = 500
	rng := rand.New(rand.NewPCG(14, 2026))
	for _, minLen := range []int{8, 12} {
		for _, s := range scripts {
			made := 0
			for made < perScript {
				p, ok := passphrase(rng, s.letters, s.decompose, minLen)
				if !ok {
					continue
				}
				made++
				if problem := checkPassword(p, policyEmail, minLen); problem != "" {
					t.Errorf("checkPassword(%s passphrase %q, min %d) = %q, want accepted", s.name, p, minLen, problem)
				}
			}
		}
	}
}

// TestPolicyRefusesTheCommonList checks every entry of the common-password list, as it is and
// in capitals: each is refused, and when it is long enough, as common.
func TestPolicyRefusesTheCommonList(t *testing.T) {
	list := frequency.FrequencyLists["passwords"]
	if len(list) != 30000 {
		t.Fatalf("common-password list has %d entries, want 30000", len(list))
	}
	const minLen = 8
	common := 0
	for _, entry := range list {
		for _, p := range []string{entry, strings.ToUpper(entry)} {
			problem := checkPassword(p, policyEmail, minLen)
			if problem == "" {
				t.Errorf("checkPassword(common password %q) = accepted, want refused", p)
				continue
			}
			long := utf8.RuneCountInString(normalisePassword(p)) >= minLen && len(normalisePassword(p)) <= maxPasswordBytes
			if long && !strings.Contains(problem, "too common") {
				t.Errorf("checkPassword(common password %q) = %q, want refused as too common", p, problem)
			}
			if long {
				common++
			}
		}
	}
	t.Logf("%d entries (twice each) refused; %d refusals were for being common", len(list), common)
}

func TestHasherNormalises(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(bcrypt.MinCost, FixedSlots(2), time.Minute)
	if err != nil {
		t.Fatalf("NewHasher error: %v", err)
	}
	composed := "crème brûlée à la façon de Zoë" // NFC, as most keyboards send it
	decomposed := norm.NFD.String(composed)
	if composed == decomposed {
		t.Fatalf("test passphrase has no decomposable characters")
	}
	hash, err := h.Hash(ctx, decomposed)
	if err != nil {
		t.Fatalf("Hash(NFD passphrase) error: %v", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(normalisePassword(composed))) != nil {
		t.Errorf("Hash(NFD passphrase) is not the bcrypt hash of its NFKC form")
	}
	for name, typed := range map[string]string{"NFC": composed, "NFD": decomposed} {
		if ok, err := h.Verify(ctx, hash, typed); err != nil || !ok {
			t.Errorf("Verify(hash of the NFD form, %s form) = %v, %v; want true, nil", name, ok, err)
		}
	}

	// Hashes made before normalisation: ASCII is its own NFKC form; a password that NFKC changes
	// was hashed as typed, and still matches when typed the same way.
	legacy := map[string]string{"ASCII": "maple-syrup-river-88", "ligature and superscript": "ﬁnch² nest ¼ full"}
	for name, typed := range legacy {
		old, err := bcrypt.GenerateFromPassword([]byte(typed), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Verify(ctx, string(old), typed); err != nil || !ok {
			t.Errorf("Verify(hash made before normalisation, %s password as typed) = %v, %v; want true, nil", name, ok, err)
		}
		if ok, err := h.Verify(ctx, string(old), typed+"x"); err != nil || ok {
			t.Errorf("Verify(hash made before normalisation, wrong %s password) = %v, %v; want false, nil", name, ok, err)
		}
	}

	// NFKC can make a short-looking password longer than bcrypt reads: U+FDFA is 3 bytes, its
	// NFKC form 33. What would be hashed is over 72 bytes, so Hash refuses it.
	if _, err := h.Hash(ctx, strings.Repeat("\ufdfa", 3)); err == nil {
		t.Errorf("Hash(password whose NFKC form is 99 bytes) error = nil, want an error")
	}
}

// FuzzPasswordPolicy checks the policy on any input: it never panics, judges a password by its
// NFKC form only, and accepts nothing outside its rules.
func FuzzPasswordPolicy(f *testing.F) {
	for _, seed := range []string{
		"", "password1", "correct horse battery staple", "тихий снег ложится на старые крыши",
		"cafe\u0301 cre\u0300me", "\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24\uff11", "aaaaaaaa", "1234abcd",
		"🦊🐼🐨🐯🦁🐸🐙🦉", strings.Repeat("\ufdfa", 3), "someone@example.com", "SOMEONE", "abc\xffdefgh",
		"\x00\x00\x00\x00\x00\x00\x00\x00", "İstanbul ılık", "ß straße STRASSE",
	} {
		f.Add(seed)
	}
	common := commonPasswords()
	f.Fuzz(func(t *testing.T, p string) {
		problem := checkPassword(p, policyEmail, 8)
		if again := checkPassword(p, policyEmail, 8); again != problem {
			t.Fatalf("checkPassword(%q) = %q, then %q", p, problem, again)
		}
		if !utf8.ValidString(p) {
			if problem == "" {
				t.Fatalf("checkPassword(invalid UTF-8 %q) accepted it", p)
			}
			return
		}
		normal := normalisePassword(p)
		if normalisePassword(normal) != normal {
			t.Fatalf("normalisePassword is not idempotent on %q", p)
		}
		if other := checkPassword(normal, policyEmail, 8); other != problem {
			t.Fatalf("checkPassword(%q) = %q but its NFKC form gets %q", p, problem, other)
		}
		if problem != "" {
			return
		}
		folded := foldPassword(p)
		_, isCommon := common[folded]
		switch {
		case utf8.RuneCountInString(normal) < 8 || len(normal) > maxPasswordBytes:
			t.Fatalf("checkPassword accepted %q: %d code points, %d bytes in NFKC form", p, utf8.RuneCountInString(normal), len(normal))
		case isCommon:
			t.Fatalf("checkPassword accepted %q, common as %q", p, folded)
		case folded == foldPassword(policyEmail) || folded == foldPassword("someone"):
			t.Fatalf("checkPassword accepted %q, the account's email", p)
		case trivial([]rune(folded)):
			t.Fatalf("checkPassword accepted %q, which repeats or counts", p)
		}
	})
}
