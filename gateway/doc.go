// Package gateway is s3seal's S3 HTTP API.
package gateway
