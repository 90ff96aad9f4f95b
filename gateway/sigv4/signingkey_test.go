package sigv4

import (
	"bytes"
	"sync"
	"testing"
)

func TestSigningKeysMatchDerivation(t *testing.T) {
	var c SigningKeys
	scopes := [][4]string{
		{exampleSecret, "20130524", "us-east-1", "s3"},
		{exampleSecret, "20130524", "us-east-1", "s3"}, // remembered
		{exampleSecret, "20130525", "us-east-1", "s3"}, // next day
		{exampleSecret, "20130525", "eu-west-1", "s3"},
		{exampleSecret, "20130525", "eu-west-1", "sts"},
		{"another secret", "20130525", "eu-west-1", "sts"},
		{exampleSecret, "20130524", "us-east-1", "s3"}, // back to the first
	}
	for _, s := range scopes {
		got := c.Get(s[0], s[1], s[2], s[3])
		if want := signingKey(s[0], s[1], s[2], s[3]); !bytes.Equal(got, want) {
			t.Errorf("Get%q = %x, want %x", s, got, want)
		}
	}
	// The AWS documentation's example key (SigV4 "Deriving the signing key").
	if got, want := c.Get("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"),
		"f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"; sha256HexKey(got) != want {
		t.Errorf("example signing key = %s, want %s", sha256HexKey(got), want)
	}
}

func sha256HexKey(k []byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(k))
	for _, b := range k {
		out = append(out, hexdigits[b>>4], hexdigits[b&15])
	}
	return string(out)
}

func TestSigningKeysConcurrent(t *testing.T) {
	var c SigningKeys
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			date := []string{"20130524", "20130525"}[i%2]
			for range 200 {
				if got, want := c.Get(exampleSecret, date, "us-east-1", "s3"), signingKey(exampleSecret, date, "us-east-1", "s3"); !bytes.Equal(got, want) {
					t.Errorf("date %s: wrong key", date)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSigningKeysSign(t *testing.T) {
	var c SigningKeys
	for i, s := range []string{"one", "two", "", "one"} {
		date := []string{"20130524", "20130525"}[i%2]
		if got, want := c.Sign(exampleSecret, date, "us-east-1", "s3", s), hmacSHA256(signingKey(exampleSecret, date, "us-east-1", "s3"), s); !bytes.Equal(got, want) {
			t.Errorf("Sign(%q) = %x, want %x", s, got, want)
		}
		// A pooled state is reset: the same input signs the same twice.
		if a, b := c.Sign(exampleSecret, date, "us-east-1", "s3", s), c.Sign(exampleSecret, date, "us-east-1", "s3", s); !bytes.Equal(a, b) {
			t.Errorf("Sign(%q) twice differs", s)
		}
	}
}
