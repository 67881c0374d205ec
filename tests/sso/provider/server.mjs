// A real OpenID Connect provider for the tests: panva's certified `oidc-provider` (a devDependency),
// on 127.0.0.1 over plain HTTP. Started by the `oidc_provider` fixture in tests/sso/conftest.py:
//
//   node tests/sso/provider/server.mjs config.json
//
// config.json:
//   {"port": 0,                          0: any free port
//    "issuer_path": "/realms/vidis",     "" or a path, as Keycloak (VIDIS) has one
//    "clients": [{"client_id", "client_secret", "redirect_uris": [...], "post_logout_redirect_uris": [...],
//                 ...any other client metadata}],
//    "accounts": {"<login name>": {"sub": "...", ...claims}},
//    "scopes": {"<scope>": ["<claim>", ...]}}   optional, see CLAIMS below
//
// Prints `READY <issuer>` once it listens. Exits when its standard input closes, so a test run that
// dies without teardown does not leave it behind.
//
// The sign-in pages are this file's own (not oidc-provider's devInteractions, whose pages load a font
// from Google): a login form (any login name from `accounts`, any non-empty password), then a consent
// form. The pages load nothing from other hosts and are in German, like the real brokers'.
//
// Deliberate choices, each mirrors what the portal meets in production:
// - PKCE is required for every client (S256 is the only method oidc-provider supports).
// - Claims: the standard `profile` and `email` scopes; every other claim an account has (`rolle`,
//   `schulkennung`, `bundesland`, `roles`, ...) is released with the `openid` scope, i.e. always,
//   as VIDIS (Keycloak with client mappers) does. `"scopes": {"roles": ["roles"]}` in the config
//   releases a claim only with that scope instead (as IServ does). Claims go into the ID token and
//   the userinfo response alike.
// - Clients authenticate with `client_secret_post` unless the config says otherwise: allauth uses it
//   whenever the discovery document offers it (oidc-provider accepts only the registered method).
// - A registered redirect URI (or post-logout redirect URI) on http://127.0.0.1 without a port
//   matches any port (as RFC 8252 allows for loopback addresses): the Django live server of the
//   browser tests gets a free port only after the provider is running.
// - RP-initiated logout: oidc-provider asks the user to confirm; the confirmation page submits
//   itself with JavaScript, and has a button (`logout=yes`) for clients without JavaScript.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';

const STANDARD_SCOPES = {
  openid: ['sub'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
    'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  email: ['email', 'email_verified'],
};

function readConfig() {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node server.mjs config.json');
    process.exit(2);
  }
  const config = JSON.parse(readFileSync(path, 'utf8'));
  const issuerPath = (config.issuer_path || '').replace(/\/+$/, '');
  if (issuerPath && !issuerPath.startsWith('/')) {
    throw new Error(`issuer_path must start with "/": ${issuerPath}`);
  }
  const accounts = new Map(); // login name -> claims
  const subs = new Set();
  for (const [login, claims] of Object.entries(config.accounts || {})) {
    if (!claims.sub) throw new Error(`account ${login} has no sub`);
    if (subs.has(claims.sub)) throw new Error(`account ${login}: sub ${claims.sub} is not unique`);
    subs.add(claims.sub);
    accounts.set(login, claims);
  }
  return {
    port: config.port || 0,
    issuerPath,
    clients: config.clients || [],
    accounts,
    scopes: config.scopes || {},
  };
}

// Which claim is released with which scope (see the header).
function claimsConfiguration(accounts, extraScopes) {
  const scopes = Object.fromEntries(Object.entries(STANDARD_SCOPES).map(([s, c]) => [s, [...c]]));
  const placed = new Set(Object.values(STANDARD_SCOPES).flat());
  for (const [scope, claims] of Object.entries(extraScopes)) {
    scopes[scope] = [...new Set([...(scopes[scope] || []), ...claims])];
    claims.forEach((claim) => placed.add(claim));
  }
  for (const claims of accounts.values()) {
    for (const claim of Object.keys(claims)) {
      if (!placed.has(claim)) {
        scopes.openid.push(claim);
        placed.add(claim);
      }
    }
  }
  return scopes;
}

function clientMetadata({ client_id, client_secret, redirect_uris, post_logout_redirect_uris, ...rest }) {
  return {
    client_id,
    client_secret,
    redirect_uris,
    post_logout_redirect_uris: post_logout_redirect_uris || [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    ...rest,
  };
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
}

// http://127.0.0.1:PORT/path matches a registered http://127.0.0.1/path (see the header).
function loopbackAnyPort(value, registered) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.hostname !== HOST || !url.port) return false;
  url.port = '';
  return registered.includes(url.href);
}

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)} – Test-Anmeldedienst</title>
  <style>
    body { font-family: sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
    label, input, button { display: block; width: 100%; box-sizing: border-box; margin-bottom: .75rem; }
    input, button { padding: .5rem; font-size: 1rem; }
    .error { color: #a00; }
  </style>
</head>
<body>
  <main>
    <h1>${escapeHtml(title)}</h1>
    ${body}
  </main>
</body>
</html>`;
}

function loginPage({ action, clientName, loginName = '', error = '' }) {
  return page('Anmelden', `
    <p>Anmeldung bei <strong>${escapeHtml(clientName)}</strong></p>
    ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
    <form id="login-form" method="post" action="${escapeHtml(action)}">
      <label for="login">Kennung</label>
      <input id="login" name="login" type="text" autocomplete="username" required autofocus
             value="${escapeHtml(loginName)}">
      <label for="password">Passwort</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Anmelden</button>
    </form>
    <p><a href="${escapeHtml(action.replace(/\/login$/, '/abort'))}">Abbrechen</a></p>`);
}

function consentPage({ action, clientName, scopes, claims }) {
  const items = [...scopes, ...claims].map((name) => `<li>${escapeHtml(name)}</li>`).join('');
  return page('Zustimmen', `
    <p><strong>${escapeHtml(clientName)}</strong> möchte diese Angaben erhalten:</p>
    <ul>${items}</ul>
    <form id="consent-form" method="post" action="${escapeHtml(action)}">
      <button type="submit" name="consent" value="yes">Zustimmen</button>
    </form>
    <p><a href="${escapeHtml(action.replace(/\/consent$/, '/abort'))}">Abbrechen</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return parseQuery(Buffer.concat(chunks).toString('utf8'));
}

function main() {
  const config = readConfig();
  const byLogin = config.accounts;
  const bySub = new Map([...byLogin.values()].map((claims) => [claims.sub, claims]));
  const server = createServer();

  server.listen(config.port, HOST, () => {
    const { port } = server.address();
    const issuer = `http://${HOST}:${port}${config.issuerPath}`;
    const interactionPath = `${config.issuerPath}/interaction/`;

    const provider = new Provider(issuer, {
      clients: config.clients.map(clientMetadata),
      jwks: { keys: [signingKey()] },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      claims: claimsConfiguration(byLogin, config.scopes),
      conformIdTokenClaims: false, // the claims of granted scopes in the ID token too
      pkce: { required: () => true },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource(ctx, form) {
            ctx.body = page('Abmelden', `
              ${form}
              <p>Auch beim Test-Anmeldedienst abmelden?</p>
              <button type="submit" form="op.logoutForm" name="logout" value="yes">Abmelden</button>
              <script>
                (function () {
                  var form = document.getElementById('op.logoutForm');
                  var input = document.createElement('input');
                  input.type = 'hidden'; input.name = 'logout'; input.value = 'yes';
                  form.appendChild(input);
                  form.submit();
                })();
              </script>`);
          },
          postLogoutSuccessSource(ctx) {
            ctx.body = page('Abgemeldet', '<p>Sie sind beim Test-Anmeldedienst abgemeldet.</p>');
          },
        },
      },
      interactions: {
        url: (ctx, interaction) => `${interactionPath}${interaction.uid}`,
      },
      async findAccount(ctx, sub) {
        const claims = bySub.get(sub);
        if (!claims) return undefined;
        return { accountId: sub, claims: async () => ({ ...claims }) };
      },
      renderError(ctx, out) {
        ctx.type = 'html';
        ctx.body = page('Fehler', Object.entries(out)
          .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
          .join(''));
      },
      ttl: {
        AccessToken: 3600,
        AuthorizationCode: 60,
        IdToken: 3600,
        Grant: 3600,
        Interaction: 600,
        Session: 3600,
      },
    });

    const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
    provider.Client.prototype.redirectUriAllowed = function allowed(value) {
      return redirectUriAllowed.call(this, value) || loopbackAnyPort(value, this.redirectUris);
    };
    provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(value) {
      return postLogoutRedirectUriAllowed.call(this, value)
        || loopbackAnyPort(value, this.postLogoutRedirectUris);
    };

    // The sign-in pages (oidc-provider leaves them to the application).
    provider.use(async (ctx, next) => {
      const fullPath = `${config.issuerPath}${ctx.path}`;
      if (!fullPath.startsWith(interactionPath)) return next();
      const [uid, step = ''] = fullPath.slice(interactionPath.length).split('/');
      const base = `${interactionPath}${uid}`;
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
      const client = await provider.Client.find(details.params.client_id);
      const clientName = client?.clientName || details.params.client_id;
      const { prompt } = details;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';

      let result;
      if (ctx.method === 'GET' && step === '') {
        if (prompt.name === 'login') {
          ctx.body = loginPage({ action: `${base}/login`, clientName, loginName: details.params.login_hint });
        } else if (prompt.name === 'consent') {
          ctx.body = consentPage({
            action: `${base}/consent`,
            clientName,
            scopes: prompt.details.missingOIDCScope || [],
            claims: prompt.details.missingOIDCClaims || [],
          });
        } else {
          ctx.throw(501, `prompt ${prompt.name} is not implemented`);
        }
        return undefined;
      }
      if (ctx.method === 'POST' && step === 'login' && prompt.name === 'login') {
        const form = await readForm(ctx.req);
        const claims = byLogin.get(form.login);
        if (!claims || !form.password) {
          ctx.status = 200;
          ctx.body = loginPage({
            action: `${base}/login`, clientName, loginName: form.login, error: 'Kennung oder Passwort falsch.',
          });
          return undefined;
        }
        result = { login: { accountId: claims.sub } };
      } else if (ctx.method === 'POST' && step === 'consent' && prompt.name === 'consent') {
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
        if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        result = { consent: { grantId: await grant.save() } };
      } else if (ctx.method === 'GET' && step === 'abort') {
        result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
      } else {
        ctx.throw(400, `unexpected ${ctx.method} ${step || 'page'} at prompt ${prompt.name}`);
      }
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
        mergeWithLastSubmission: !result.login,
      });
      ctx.status = 303;
      ctx.redirect(returnTo);
      return undefined;
    });

    provider.on('server_error', (ctx, error) => console.error('server_error', error));

    const handle = provider.callback();
    server.on('request', (req, res) => {
      if (config.issuerPath) {
        // Mounted under the issuer's path: oidc-provider works out its mount path from originalUrl.
        if (req.url !== config.issuerPath && !req.url.startsWith(`${config.issuerPath}/`)
            && !req.url.startsWith(`${config.issuerPath}?`)) {
          res.statusCode = 404;
          res.end('not found');
          return;
        }
        req.originalUrl = req.url;
        req.url = req.url.slice(config.issuerPath.length) || '/';
      }
      handle(req, res);
    });

    console.log(`READY ${issuer}`);
  });

  // The fixture holds our standard input open; when the test process goes away, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
}

main();
