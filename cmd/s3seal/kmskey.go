package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"
)

// runKMSKey runs `s3seal kms key rotate|status KEY` against a running
// gateway's KMS admin API.
func runKMSKey(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: s3seal kms key rotate|status KEY [--endpoint URL]\n\n"+
			"rotate adds a version to KEY: new data keys are sealed under it, older versions keep decrypting, the key id stays.\n"+
			"status shows whether KEY works and its versions.\n"+credentialsUsage)
	}
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "status") {
		usage()
		return 2
	}
	verb := args[0]
	fl := flag.NewFlagSet("kms key "+verb, flag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := gatewayFlags(fl)
	fl.Usage = func() { usage(); fl.PrintDefaults() }
	// The key may come before or after the flags.
	var key string
	rest := args[1:]
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		key, rest = rest[0], rest[1:]
	}
	if err := fl.Parse(rest); err != nil {
		return 2
	}
	if key == "" && fl.NArg() == 1 {
		key = fl.Arg(0)
	} else if fl.NArg() != 0 {
		key = ""
	}
	if key == "" {
		fl.Usage()
		return 2
	}
	g, err := newGatewayClient(*endpoint, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal kms key:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if verb == "rotate" {
		version, err := g.rotateKey(ctx, key)
		if err != nil {
			fmt.Fprintf(stderr, "s3seal kms key rotate %s: %v\n", key, err)
			return 1
		}
		fmt.Fprintf(stdout, "rotated %s: new data keys are sealed under version %d; older versions keep decrypting.\n"+
			"Objects sealed before keep their version until re-sealed: s3seal rekey --bucket B --to-key %s\n", key, version, key)
		return 0
	}
	st, err := g.keyStatus(ctx, key)
	if err != nil {
		fmt.Fprintf(stderr, "s3seal kms key status %s: %v\n", key, err)
		return 1
	}
	fmt.Fprintf(stdout, "Key: %s\n", st.KeyID)
	fmt.Fprintf(stdout, "  encryption: %s\n  decryption: %s\n", okOr(st.EncryptionErr), okOr(st.DecryptionErr))
	if st.LatestVersion == 0 {
		fmt.Fprintln(stdout, "  versions: none (the KMS has no key versions)")
	} else {
		fmt.Fprintf(stdout, "  latest version: %d (new data keys)\n", st.LatestVersion)
		for _, v := range st.Versions {
			fmt.Fprintf(stdout, "  version %d: created %s", v.Version, v.CreatedAt.UTC().Format(time.RFC3339))
			if v.CreatedBy != "" {
				fmt.Fprintf(stdout, " by %s", v.CreatedBy)
			}
			fmt.Fprintln(stdout)
		}
	}
	if st.EncryptionErr != "" || st.DecryptionErr != "" {
		return 1
	}
	return 0
}

func okOr(err string) string {
	if err == "" {
		return "ok"
	}
	return "failed: " + err
}
