// Package deploy validates the deployment artefacts under deploy/: the
// Kubernetes manifests (decoded strictly into the Kubernetes API types), the
// docker-compose stack (loaded and validated by compose-go, the loader
// docker compose itself uses), the Dockerfile and the example configuration
// files. It holds only tests.
//
// Everything runs in-process: compose-go and kustomize's krusty are Go
// modules of this test module, so neither docker compose nor kubectl is
// needed.
package deploy
