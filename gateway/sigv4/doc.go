// Package sigv4 authenticates S3 requests signed with AWS Signature Version 4.
package sigv4
