package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/s3seal/s3seal/gateway/sigv4"
)

// signBackendV4 signs req in place with Signature Version 4 for the
// backend, exactly as minio-go's signer.SignV4 does (the same canonical
// request, the same signed headers, the query re-encoded the same way;
// TestSignBackendV4MatchesMinioGo holds it to that), but with the signing
// key from keys instead of four HMACs per request, and without copying
// the request. Anonymous credentials leave req unsigned.
func signBackendV4(req *http.Request, keys *sigv4.SigningKeys, accessKey, secretKey, token, region string, now time.Time) {
	if accessKey == "" || secretKey == "" {
		return
	}
	const (
		algorithm = "AWS4-HMAC-SHA256"
		service   = "s3"
	)
	t := now.UTC()
	amzDate := t.Format("20060102T150405Z")
	date := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	if token != "" && req.Header.Get("X-Amz-S3session-Token") == "" {
		req.Header.Set("X-Amz-Security-Token", token)
	}
	hashedPayload := req.Header.Get("X-Amz-Content-Sha256")
	if hashedPayload == "" {
		hashedPayload = "UNSIGNED-PAYLOAD"
	}
	if req.URL.RawQuery != "" {
		req.URL.RawQuery = strings.ReplaceAll(req.URL.Query().Encode(), "+", "%20")
	}

	// Every header but these is signed, host always.
	names := make([]string, 0, len(req.Header)+1)
	values := make(map[string][]string, len(req.Header))
	hasHost := false
	for k, vv := range req.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Accept-Encoding", "Authorization", "User-Agent":
			continue
		}
		lk := sigv4.LowerHeaderName(k)
		names = append(names, lk)
		values[lk] = vv
		hasHost = hasHost || lk == "host"
	}
	if !hasHost {
		names = append(names, "host")
	}
	slices.Sort(names)
	signedHeaders := strings.Join(names, ";")

	// The canonical request is built where sha256 reads it, on the stack
	// for the usual small request, not in a builder copied to a []byte.
	var buf [512]byte
	cr := append(buf[:0], req.Method...)
	cr = append(cr, '\n')
	cr = append(cr, encodePath(req.URL.Path)...)
	cr = append(cr, '\n')
	cr = append(cr, req.URL.RawQuery...)
	cr = append(cr, '\n')
	for _, k := range names {
		cr = append(cr, k...)
		cr = append(cr, ':')
		if k == "host" {
			cr = append(cr, backendHost(req)...)
		} else {
			for i, v := range values[k] {
				if i > 0 {
					cr = append(cr, ',')
				}
				cr = append(cr, trimAll(v)...)
			}
		}
		cr = append(cr, '\n')
	}
	cr = append(cr, '\n')
	cr = append(cr, signedHeaders...)
	cr = append(cr, '\n')
	cr = append(cr, hashedPayload...)
	sum := sha256.Sum256(cr)

	scope := date + "/" + region + "/" + service + "/aws4_request"
	sig := keys.Sign(secretKey, date, region, service, algorithm+"\n"+amzDate+"\n"+scope+"\n"+hex.EncodeToString(sum[:]))
	req.Header.Set("Authorization", algorithm+" Credential="+accessKey+"/"+scope+", SignedHeaders="+signedHeaders+
		", Signature="+hex.EncodeToString(sig))
}

// backendHost is the host the request goes to, as minio-go signs it.
func backendHost(req *http.Request) string {
	if h := req.Header.Get("Host"); h != "" && h != req.Host {
		return h
	}
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// trimAll collapses runs of white space to one space and trims both ends,
// as SigV4 canonical header values want; most values have none to collapse.
func trimAll(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' ||
			(c == ' ' && (i == 0 || i == len(v)-1 || v[i+1] == ' ')) {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}
