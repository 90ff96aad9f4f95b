package crypto_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/s3seal/s3seal/crypto"
)

func ExampleEncryptReader() {
	dataKey := make([]byte, 32) // from the KMS in the gateway
	key, err := crypto.GenerateObjectKey(dataKey, nil)
	if err != nil {
		panic(err)
	}

	enc, err := crypto.EncryptReader(strings.NewReader("hello, world"), key)
	if err != nil {
		panic(err)
	}
	var ciphertext bytes.Buffer
	if _, err := io.Copy(&ciphertext, enc); err != nil {
		panic(err)
	}
	fmt.Println("ciphertext bytes:", ciphertext.Len(), "=", crypto.EncryptedSize(12))

	dec, err := crypto.DecryptReader(&ciphertext, key, 0)
	if err != nil {
		panic(err)
	}
	plain, err := io.ReadAll(dec)
	if err != nil {
		panic(err)
	}
	fmt.Printf("plaintext: %s\n", plain)
	// Output:
	// ciphertext bytes: 44 = 44
	// plaintext: hello, world
}

func ExampleLayout_Plan() {
	// A multipart object of a 5 MiB + 1 byte part and a 100-byte part.
	layout := crypto.Layout{5<<20 + 1, 100}

	// "bytes=-150": the last 150 bytes cross the part boundary.
	offset, length, err := crypto.ParseRange("bytes=-150", layout.Size())
	if err != nil {
		panic(err)
	}
	segs, err := layout.Plan(offset, length)
	if err != nil {
		panic(err)
	}
	for _, s := range segs {
		fmt.Printf("part %d: fetch %d+%d, sequence %d, skip %d, emit %d\n",
			s.Part, s.CipherOffset, s.CipherLength, s.Sequence, s.Skip, s.Length)
	}
	// Output:
	// part 1: fetch 5179872+65601, sequence 79, skip 65487, emit 50
	// part 2: fetch 5245473+132, sequence 0, skip 0, emit 100
}
