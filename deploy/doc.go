// Package deploy holds the Kubernetes manifests of the example server
// (kubectl apply -k deploy/) and, in its tests, the checks that can run
// without a cluster or a container runtime: every manifest parses, the
// pod runs locked down, the probes' paths answer on a real server started
// with the Deployment's own environment, and the disruption budget, the
// autoscaler and the Service select the Deployment's pods. See README.md.
package deploy
