// Package deploy holds the tests that keep the deployment files honest: the
// Kubernetes manifests decode strictly into the Kubernetes API types and
// build with kustomize, the compose file and the Dockerfile agree with the
// crawler's configuration, and docs/operations.md documents every setting.
//
// It is a module of its own (deploy/go.mod) so that the Kubernetes and
// kustomize libraries never become dependencies of the crawler. Run its
// tests with `cd deploy && go test ./...` (make test does).
package deploy
