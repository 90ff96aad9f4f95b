// Package deploy validates the deployment artefacts under deploy/: the
// Kubernetes manifests (decoded strictly into the Kubernetes API types), the
// docker-compose stack (checked by a real compose parser), the Dockerfile and
// the example configuration files. It holds only tests.
//
// The compose check needs the docker-compose binary from Debian's
// docker-compose package and the kustomization check needs kubectl; a
// missing tool fails the test with the command that installs it.
package deploy
