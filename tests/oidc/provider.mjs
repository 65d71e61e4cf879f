// A real OpenID Connect provider for hjul's sign-in tests: panva's oidc-provider (the
// certified implementation), with its development sign-in form (any name, any password)
// standing in for the municipality's login page.
//
// Settings come from the environment (the test sets them):
//   OIDC_REDIRECT_URI      hjul's callback, e.g. http://127.0.0.1:PORT/login/oidc/callback
//   OIDC_POST_LOGOUT_URI   where the provider sends the browser after signing out
//   OIDC_CLIENT_SECRET     the client secret hjul is given
//   OIDC_GROUPS            JSON: {"address": ["group", ...]} — the groups claim per person
//   OIDC_CLAIMS_IN         "id_token" (default) or "userinfo": where the email and groups go
// It listens on 127.0.0.1 on a free port and prints one line, `issuer=http://127.0.0.1:N`.

import http from 'node:http';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;
const groups = JSON.parse(env('OIDC_GROUPS', '{}'));
const claimsInIdToken = env('OIDC_CLAIMS_IN', 'id_token') === 'id_token';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'hjul',
        client_secret: env('OIDC_CLIENT_SECRET', 'hemmelig'),
        redirect_uris: [env('OIDC_REDIRECT_URI', 'http://127.0.0.1/login/oidc/callback')],
        post_logout_redirect_uris: [env('OIDC_POST_LOGOUT_URI', 'http://127.0.0.1/login')],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // The login typed on the form is the person: their address and their groups.
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: id, email_verified: true, name: id, groups: groups[id] ?? [] };
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: !claimsInIdToken,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // A municipality's own application asks no consent: every scope is granted.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    cookies: { keys: ['hjul-test-only'] },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`issuer=${issuer}`);
});
