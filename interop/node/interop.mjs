// Microsoft's own clients against the development identity provider:
// node interop.mjs FLOW gets a token through FLOW, calls the API over REST
// with it, and prints one line "RESULT {json}" (and, for device code
// flows, a line "USER_CODE code" first, for the driving test to approve).
// Driven by interop/interop_test.go, which starts the server in
// development TLS mode and sets NODE_EXTRA_CA_CERTS to its certificate.
//
// Environment: AUTHORITY_HOST (https://127.0.0.1:PORT/dev-idp), TENANT,
// API_URL (https://127.0.0.1:PORT), API_SCOPE_PREFIX (api://CLIENT_ID),
// PUBLIC_CLIENT_ID, REPORTING_DAEMON and ADMIN_DAEMON (client IDs), and for
// the certificate flow CERT_FILE and KEY_FILE.
//
// No connection leaves loopback: every TCP connection is checked before it
// is made, one to another host is refused, and the hosts contacted are
// reported, so that MSAL's instance discovery (login.microsoftonline.com
// by default) can never reach Microsoft.
import net from "node:net";
import fs from "node:fs";
import crypto from "node:crypto";

const contacted = new Set();
const loopback = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0];
  if (opts && typeof opts === "object" && opts.path) return connect.apply(this, args);
  const host = opts && typeof opts === "object" ? (opts.host ?? "localhost") : (typeof args[1] === "string" ? args[1] : "localhost");
  contacted.add(host);
  if (!loopback.has(host)) {
    process.nextTick(() => this.destroy(new Error(`interop: refused a connection to ${host}: loopback only`)));
    return this;
  }
  return connect.apply(this, args);
};

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`interop: ${name} is not set`);
  return v;
};
const authorityHost = env("AUTHORITY_HOST");
const tenant = env("TENANT");
const apiURL = env("API_URL");
const api = env("API_SCOPE_PREFIX");
const publicClient = env("PUBLIC_CLIENT_ID");
const host = new URL(authorityHost).host;

const msal = await import("@azure/msal-node");
const identity = await import("@azure/identity");

// call calls the API over REST with token and returns the status.
async function call(method, path, token, body) {
  const resp = await fetch(apiURL + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  await resp.text();
  return resp.status;
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

const msalAuth = (tenantPath, extra) => ({
  auth: { authority: `${authorityHost}/${tenantPath}`, knownAuthorities: [host], ...extra },
  system: { loggerOptions: { logLevel: msal.LogLevel.Error, piiLoggingEnabled: false, loggerCallback: (_, m) => console.error(m) } },
});

// deviceCodePrompt hands the user code to the driving test.
const deviceCodePrompt = (code) => console.log(`USER_CODE ${code}`);

const flows = {
  // MSAL's confidential client with a secret: app-only token, app roles.
  async "msal-secret"() {
    const app = new msal.ConfidentialClientApplication(msalAuth(tenant, { clientId: env("REPORTING_DAEMON"), clientSecret: "dev-secret" }));
    const r = await app.acquireTokenByClientCredential({ scopes: [`${api}/.default`] });
    return {
      claims: claims(r.accessToken),
      allowed: await call("GET", "/v1/items:export", r.accessToken),
      denied: await call("GET", "/v1/items", r.accessToken),
    };
  },
  // MSAL told the provider's own instance discovery answer
  // (cloudDiscoveryMetadata) instead of knownAuthorities.
  async "msal-instance-discovery"() {
    const authority = `${authorityHost}/${tenant}`;
    const resp = await fetch(`${authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authority + "/oauth2/v2.0/authorize")}`);
    const metadata = await resp.text();
    const app = new msal.ConfidentialClientApplication({
      auth: { clientId: env("REPORTING_DAEMON"), clientSecret: "dev-secret", authority, cloudDiscoveryMetadata: metadata },
    });
    const r = await app.acquireTokenByClientCredential({ scopes: [`${api}/.default`] });
    return {
      claims: claims(r.accessToken),
      allowed: await call("GET", "/v1/items:export", r.accessToken),
      denied: await call("GET", "/v1/items", r.accessToken),
    };
  },
  // MSAL's confidential client with a certificate (a client assertion).
  async "msal-certificate"() {
    const pem = fs.readFileSync(env("CERT_FILE"), "utf8");
    const x509 = new crypto.X509Certificate(pem);
    const app = new msal.ConfidentialClientApplication(msalAuth(tenant, {
      clientId: env("ADMIN_DAEMON"),
      clientCertificate: {
        thumbprintSha256: x509.fingerprint256.replaceAll(":", ""),
        privateKey: fs.readFileSync(env("KEY_FILE"), "utf8"),
        x5c: pem,
      },
    }));
    const r = await app.acquireTokenByClientCredential({ scopes: [`${api}/.default`] });
    return {
      claims: claims(r.accessToken),
      allowed: await call("GET", "/v1/items:export", r.accessToken),
      denied: await call("GET", "/v1/items", r.accessToken),
    };
  },
  // MSAL's public client: username and password, then a silent renewal
  // from its cache (the refresh token), without a prompt.
  async "msal-password"() {
    const app = new msal.PublicClientApplication(msalAuth(tenant, { clientId: publicClient }));
    const scopes = [`${api}/Items.Read`];
    const r = await app.acquireTokenByUsernamePassword({ scopes, username: "bob", password: "dev" });
    const accounts = await app.getTokenCache().getAllAccounts();
    const silent = await app.acquireTokenSilent({ account: accounts[0], scopes, forceRefresh: true });
    return {
      claims: claims(r.accessToken),
      account: { username: accounts[0]?.username, homeAccountId: accounts[0]?.homeAccountId, tenantId: accounts[0]?.tenantId },
      idToken: Boolean(r.idToken),
      refreshed: silent.accessToken !== r.accessToken && silent.fromCache === false,
      allowed: await call("GET", "/v1/items", silent.accessToken),
      denied: await call("POST", "/v1/items", silent.accessToken, { name: "from msal" }),
    };
  },
  // MSAL's device code flow on the organizations authority.
  async "msal-device"() {
    const app = new msal.PublicClientApplication(msalAuth("organizations", { clientId: publicClient }));
    const scopes = [`${api}/Items.Read`, `${api}/Items.Write`];
    const r = await app.acquireTokenByDeviceCode({ scopes, deviceCodeCallback: (d) => deviceCodePrompt(d.userCode) });
    const silent = await app.acquireTokenSilent({ account: r.account, scopes });
    return {
      claims: claims(r.accessToken),
      account: { username: r.account?.username, tenantId: r.account?.tenantId },
      cached: silent.fromCache === true,
      allowed: await call("POST", "/v1/items", r.accessToken, { name: "from msal" }),
      denied: await call("DELETE", "/v1/items/none", r.accessToken),
    };
  },
  // Azure Identity's client secret credential.
  async "identity-secret"() {
    const cred = new identity.ClientSecretCredential(tenant, env("REPORTING_DAEMON"), "dev-secret", {
      authorityHost, disableInstanceDiscovery: true,
    });
    const t = await cred.getToken(`${api}/.default`);
    return {
      claims: claims(t.token),
      allowed: await call("GET", "/v1/items:export", t.token),
      denied: await call("GET", "/v1/items", t.token),
    };
  },
  // Azure Identity's device code credential.
  async "identity-device"() {
    const cred = new identity.DeviceCodeCredential({
      tenantId: tenant, clientId: publicClient, authorityHost, disableInstanceDiscovery: true,
      userPromptCallback: (d) => deviceCodePrompt(d.userCode),
    });
    const t = await cred.getToken(`${api}/Items.Read`);
    return {
      claims: claims(t.token),
      allowed: await call("GET", "/v1/items", t.token),
      denied: await call("POST", "/v1/items", t.token, { name: "from azure identity" }),
    };
  },
};

const flow = flows[process.argv[2]];
if (!flow) {
  console.error(`usage: node interop.mjs ${Object.keys(flows).join("|")}`);
  process.exit(2);
}
try {
  const result = await flow();
  console.log(`RESULT ${JSON.stringify({ ...result, hosts: [...contacted] })}`);
} catch (e) {
  console.error(e);
  console.log(`RESULT ${JSON.stringify({ error: [e?.errorCode, e?.errorMessage ?? e?.message ?? String(e)].filter(Boolean).join(": "), hosts: [...contacted] })}`);
  process.exitCode = 1;
}
