package kmsclient_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

func Example() {
	ctx := context.Background()
	k := kmsclient.New(new(mem.Store), kmsclient.Config{CreatedBy: "example"})
	defer k.Close()

	if err := k.CreateKey(ctx, "my-key"); err != nil {
		log.Fatal(err)
	}
	keyContext := []byte(`{"bucket":"bucket/object"}`)
	dek, err := k.GenerateKey(ctx, "my-key", keyContext)
	if err != nil {
		log.Fatal(err)
	}
	// Store dek.Ciphertext next to the data; use and forget dek.Plaintext.
	plaintext, err := k.Decrypt(ctx, "my-key", dek.Ciphertext, keyContext)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(dek.Plaintext), len(dek.Ciphertext), bytes.Equal(plaintext, dek.Plaintext))

	_, err = k.Decrypt(ctx, "my-key", dek.Ciphertext, []byte(`{"bucket":"bucket/other"}`))
	fmt.Println(err)
	// Output:
	// 32 76 true
	// decryption failed: ciphertext is not authentic
}
