package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// streamOptions describes an aws-chunked upload built by encodeStream, an
// encoder written for the tests from the AWS documentation, independent of
// the decoder. It can also produce uploads that are correctly signed but
// wrong in a chosen way.
type streamOptions struct {
	mode      string // streamingSigned, streamingSignedTrailer or streamingUnsignedTrailer
	chunkSize int
	trailer   string            // "name:value" trailing header, "" for none
	headers   map[string]string // extra request headers, signed

	noContentEncoding bool // leave out Content-Encoding: aws-chunked, as older mc does

	// Corruptions, applied after signing.
	flipLastByte   bool // the final payload byte
	badFinalSig    bool // the zero-length chunk's signature
	badTrailerSig  bool // x-amz-trailer-signature
	dropFinalChunk bool // stop after the last data chunk
}

// streamingWire returns the wire request of an aws-chunked upload of
// payload, seed-signed by aws-sdk-go-v2's signer.
func streamingWire(t testing.TB, payload []byte, o streamOptions) []byte {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, "https://s3.example.test/bucket/stream.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.noContentEncoding {
		r.Header.Set("Content-Encoding", "aws-chunked")
	}
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
	r.Header.Set("X-Amz-Content-Sha256", o.mode)
	if o.trailer != "" {
		name, _, _ := bytes.Cut([]byte(o.trailer), []byte(":"))
		r.Header.Set("X-Amz-Trailer", string(name))
	}
	for k, v := range o.headers {
		r.Header.Set(k, v)
	}
	// Content-Length is not signed here, so it can be set after encoding.
	if err := awsSigner.SignHTTP(context.Background(), awsCredentials, r, o.mode, "s3", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	seed := regexp.MustCompile(`Signature=([0-9a-f]{64})`).FindStringSubmatch(r.Header.Get("Authorization"))[1]
	body := encodeStream(payload, seed, o)
	r.ContentLength = int64(len(body))
	r.Body = io.NopCloser(bytes.NewReader(body))
	return wire(t, r)
}

// encodeStream frames payload as aws-chunked and signs it per the AWS
// documentation, chaining from seed.
func encodeStream(payload []byte, seed string, o streamOptions) []byte {
	key := signingKey(testSecret, testTime.Format(scopeDateLayout), testRegion, "s3")
	scope := testTime.Format(scopeDateLayout) + "/" + testRegion + "/s3/aws4_request"
	amzDate := testTime.Format(iso8601Basic)
	sign := func(stringToSign string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(stringToSign))
		return hex.EncodeToString(m.Sum(nil))
	}
	prev := seed
	chunkSig := func(data []byte) string {
		sum := sha256.Sum256(data)
		prev = sign("AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(sum[:]))
		return prev
	}
	signed := o.mode != streamingUnsignedTrailer
	var b bytes.Buffer
	chunkSize := o.chunkSize
	if chunkSize == 0 {
		chunkSize = 64 << 10
	}
	for off := 0; off < len(payload); off += chunkSize {
		data := payload[off:min(off+chunkSize, len(payload))]
		if signed {
			fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(data), chunkSig(data))
		} else {
			fmt.Fprintf(&b, "%x\r\n", len(data))
		}
		b.Write(data)
		b.WriteString("\r\n")
	}
	if o.flipLastByte && len(payload) > 0 {
		// The last payload byte sits just before the last chunk's CRLF.
		b.Bytes()[b.Len()-3] ^= 0x01
	}
	if o.dropFinalChunk {
		return b.Bytes()
	}
	if signed {
		sig := chunkSig(nil)
		if o.badFinalSig {
			sig = alterHex(sig)
		}
		fmt.Fprintf(&b, "0;chunk-signature=%s\r\n", sig)
	} else {
		b.WriteString("0\r\n")
	}
	if o.mode == streamingSigned {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	if o.trailer != "" {
		b.WriteString(o.trailer + "\r\n")
	}
	if o.mode == streamingSignedTrailer {
		var canonical string
		if o.trailer != "" {
			canonical = o.trailer + "\n"
		}
		sum := sha256.Sum256([]byte(canonical))
		sig := sign("AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + hex.EncodeToString(sum[:]))
		if o.badTrailerSig {
			sig = alterHex(sig)
		}
		b.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func streamingVerifier() *Verifier {
	return newVerifier(testTime, testAccessKey, testSecret)
}
