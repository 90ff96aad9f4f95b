package policy

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, doc := range builtinDocuments {
		f.Add([]byte(doc))
	}
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
		"Condition":{"ForAllValues:StringNotLikeIfExists":{"s3:prefix":["${aws:username}/*",1,true]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, bucketPolicy := range []bool{false, true} {
			p, err := parse(data, bucketPolicy)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error does not wrap ErrMalformed: %v", err)
				}
				continue
			}
			// Whatever parsed evaluates without panicking, and
			// deterministically.
			args := Args{Account: "a", Action: "s3:PutObject", Bucket: "b", Object: "k",
				Conditions: map[string][]string{"s3:prefix": {"x"}, "aws:sourceip": {"10.0.0.1"}, "aws:username": {"a"}}}
			if d1, d2 := p.Evaluate(args), p.Evaluate(args); d1 != d2 {
				t.Fatalf("Evaluate is not deterministic: %v then %v", d1, d2)
			}
		}
	})
}
