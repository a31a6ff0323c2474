/**
 * The console's shell: sign-in, the header (tenant, permissions, rate limit from GET /v1/me) and the
 * pages, chosen by the URL hash (#/workbench, #/jobs, #/bulk, #/admin) so a reload keeps the page.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { ApiFailure, get, isAdmin, type Me } from './api';
import { ErrorBox } from './components/error-box';
import { AdminPage } from './pages/admin';
import { BulkPage } from './pages/bulk';
import { JobsPage } from './pages/jobs';
import { WorkbenchPage } from './pages/workbench';
import type { PageName } from './router';
import { forgetCredential, readCredential, storeCredential } from './session';

const PAGES: { name: PageName; label: string }[] = [
  { name: 'workbench', label: 'Workbench' },
  { name: 'jobs', label: 'Jobs' },
  { name: 'bulk', label: 'Bulk' },
  { name: 'admin', label: 'Admin' },
];

function routeOf(hash: string): { page: PageName; arg: string | undefined } {
  const [, page, arg] = hash.replace(/^#/, '').split('/');
  const found = PAGES.find((p) => p.name === page);
  return { page: found?.name ?? 'workbench', arg: arg ? decodeURIComponent(arg) : undefined };
}

function useRoute() {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function SignIn({ onSignedIn, reason }: { onSignedIn: (me: Me) => void; reason?: unknown }) {
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<unknown>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = credential.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    try {
      const { data } = await get<Me>('/v1/me', { credential: value });
      storeCredential(value);
      setCredential('');
      onSignedIn(data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Redshift Spectra console</h1>
        <p>
          Sign in with an API key (<code>spk_…</code>) or a JWT. It is kept in this tab only (sessionStorage).
        </p>
        <label for="credential">API key or JWT</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={credential}
          onInput={(e) => setCredential((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function Header({ me, page, onSignOut }: { me: Me; page: PageName; onSignOut: () => void }) {
  // The admin key belongs to no tenant: it has the Admin page only.
  const visible = PAGES.filter((p) => (p.name === 'admin' ? isAdmin(me) : me.auth !== 'admin'));
  return (
    <header class="top">
      <span class="brand">Spectra</span>
      <nav aria-label="Pages">
        {visible.map((p) => (
          <a key={p.name} href={`#/${p.name}`} aria-current={p.name === page ? 'page' : undefined}>
            {p.label}
          </a>
        ))}
      </nav>
      <div class="identity">
        <span class="tenant" data-testid="tenant">
          {me.auth === 'admin' ? 'administrator' : me.tenant_id}
        </span>
        <span class="auth">
          {me.auth === 'jwt' ? 'JWT' : me.auth === 'admin' ? 'admin key' : `key ${me.key_id ?? ''}`}
        </span>
        <span class="permissions" title="Permissions">
          {me.permissions.map((p) => (
            <span class="chip" key={p}>
              {p}
            </span>
          ))}
        </span>
        {me.rate_limit && (
          <span class="rate" title="Rate limit: requests remaining in this window">
            {me.rate_limit.remaining}/{me.rate_limit.limit} left, resets in {me.rate_limit.reset_seconds}s
          </span>
        )}
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(() => readCredential() !== null);
  const [reason, setReason] = useState<unknown>(null);
  const route = useRoute();

  useEffect(() => {
    if (!checking) return;
    get<Me>('/v1/me')
      .then(({ data }) => setMe(data))
      .catch((err) => {
        if (err instanceof ApiFailure && err.status === 401) forgetCredential();
        setReason(err);
      })
      .finally(() => setChecking(false));
  }, [checking]);

  // A credential revoked or expired while the console is open: back to sign-in, saying why.
  useEffect(() => {
    const onUnauthorized = (e: Event) => {
      forgetCredential();
      setReason((e as CustomEvent).detail);
      setMe(null);
    };
    addEventListener('spectra:unauthorized', onUnauthorized);
    return () => removeEventListener('spectra:unauthorized', onUnauthorized);
  }, []);

  if (checking) return <p class="loading">Checking the credential…</p>;
  if (!me) return <SignIn onSignedIn={setMe} reason={reason} />;
  const signOut = () => {
    forgetCredential();
    setReason(null);
    setMe(null);
  };
  const page = me.auth === 'admin' ? 'admin' : route.page;
  return (
    <>
      <Header me={me} page={page} onSignOut={signOut} />
      <main class={`page page-${page}`}>
        {page === 'workbench' && <WorkbenchPage me={me} />}
        {page === 'jobs' && <JobsPage selected={route.arg} />}
        {page === 'bulk' && <BulkPage />}
        {page === 'admin' &&
          (isAdmin(me) ? (
            <AdminPage />
          ) : (
            <ErrorBox error={new Error('The Admin page needs an admin:* credential.')} />
          ))}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
