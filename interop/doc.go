// Package interop holds no code: its tests run Microsoft's own client
// libraries, MSAL for Node (@azure/msal-node) and Azure Identity
// (@azure/identity), against the serving kit in development TLS mode, as
// a developer's client would use them. The libraries are pinned by
// node/package.json and node/package-lock.json and installed with npm ci
// by `make interop-deps` (a prerequisite of `make test`); they live here,
// apart from any other npm packages of the repository, because they are
// test clients of the development identity provider and nothing else.
package interop
