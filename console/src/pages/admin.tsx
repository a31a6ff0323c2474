/**
 * Admin (an `admin:*` credential): tenants (create, suspend, resume, delete), their keys (create,
 * rotate, revoke; a new secret is shown once and never stored), the audit trail with filters, and a
 * live summary of /metrics.
 */
import { useEffect, useState } from 'preact/hooks';
import { del, enc, get, patch, post } from '../api';
import { ConfirmDialog, type ConfirmRequest } from '../components/confirm';
import { ErrorBox } from '../components/error-box';
import { MetricsPanel } from './metrics';

interface Tenant {
  tenant_id: string;
  name: string | null;
  db_user: string;
  status: 'active' | 'suspended';
  permissions: string[];
  created_at: string;
}
interface Key {
  key_id: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  permissions: string[];
}
interface AuditEntry {
  entry_id: string;
  at: string;
  request_id: string;
  tenant_id: string;
  principal: string;
  method: string;
  route: string;
  status: number;
  outcome: string;
  error_code: string | null;
  duration_ms: number;
}
interface Secret {
  label: string;
  api_key: string;
}

const PERMISSIONS = [
  'query:execute',
  'query:cancel',
  'bulk:create',
  'bulk:read',
  'bulk:cancel',
  'catalog:read',
];

function SecretOnce({ secret, onDone }: { secret: Secret | null; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [secret]);
  if (!secret) return null;
  return (
    <div class="secret" role="alert" aria-label="New secret">
      <p>
        <strong>{secret.label}</strong>: copy it now, it is not shown again.
      </p>
      <code class="secret-value" data-testid="new-secret">
        {secret.api_key}
      </code>
      <div class="row">
        <button
          type="button"
          onClick={() => void navigator.clipboard?.writeText(secret.api_key).then(() => setCopied(true))}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

function Keys({
  tenant,
  onSecret,
  confirm,
}: {
  tenant: string;
  onSecret: (s: Secret) => void;
  confirm: (c: ConfirmRequest) => void;
}) {
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [perms, setPerms] = useState<Set<string>>(
    new Set(['query:execute', 'query:cancel', 'bulk:create', 'bulk:read', 'bulk:cancel', 'catalog:read']),
  );
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    get<{ keys: Key[] }>(`/v1/admin/tenants/${enc(tenant)}/keys`)
      .then(({ data }) => setKeys(data.keys))
      .catch(setError);
  }, [tenant, tick]);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      setTick((t) => t + 1);
    } catch (err) {
      setError(err);
    }
  };
  const create = () =>
    act(async () => {
      const { data } = await post<{ key_id: string; api_key: string }>(
        `/v1/admin/tenants/${enc(tenant)}/keys`,
        {
          permissions: [...perms],
        },
      );
      onSecret({ label: `New key ${data.key_id} for ${tenant}`, api_key: data.api_key });
    });
  return (
    <section class="card" aria-label={`Keys of ${tenant}`}>
      <h3>Keys of {tenant}</h3>
      <fieldset class="row">
        <legend>Permissions of a new key</legend>
        {PERMISSIONS.map((p) => (
          <label key={p}>
            <input
              type="checkbox"
              checked={perms.has(p)}
              onChange={(e) => {
                const next = new Set(perms);
                if ((e.target as HTMLInputElement).checked) next.add(p);
                else next.delete(p);
                setPerms(next);
              }}
            />{' '}
            {p}
          </label>
        ))}
        <button type="button" class="primary" onClick={create}>
          Create key
        </button>
      </fieldset>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <table>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Permissions</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(keys ?? []).map((k) => (
            <tr key={k.key_id} data-key={k.key_id}>
              <td>
                <code>{k.key_id}</code>
              </td>
              <td>{k.permissions.join(', ')}</td>
              <td>{new Date(k.created_at).toLocaleString()}</td>
              <td>{k.last_used_at ? new Date(k.last_used_at).toLocaleString() : 'never'}</td>
              <td>
                {k.revoked_at
                  ? 'revoked'
                  : k.expires_at
                    ? `expires ${new Date(k.expires_at).toLocaleString()}`
                    : 'active'}
              </td>
              <td>
                {!k.revoked_at && (
                  <>
                    <button
                      type="button"
                      onClick={() =>
                        act(async () => {
                          const { data } = await post<{
                            key_id: string;
                            api_key: string;
                            previous_key_valid_until: string | null;
                          }>(`/v1/admin/tenants/${enc(tenant)}/keys/${enc(k.key_id)}/rotate`, {});
                          onSecret({
                            label: `Key ${k.key_id} rotated to ${data.key_id}${data.previous_key_valid_until ? ` (the old key works until ${new Date(data.previous_key_valid_until).toLocaleString()})` : ''}`,
                            api_key: data.api_key,
                          });
                        })
                      }
                    >
                      Rotate
                    </button>{' '}
                    <button
                      type="button"
                      class="danger"
                      onClick={() =>
                        confirm({
                          title: `Revoke key ${k.key_id}?`,
                          body: 'Requests with this key are refused from now on. This cannot be undone.',
                          action: 'Revoke key',
                          run: () => act(() => del(`/v1/admin/tenants/${enc(tenant)}/keys/${enc(k.key_id)}`)),
                        })
                      }
                    >
                      Revoke
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Tenants({
  onSecret,
  confirm,
}: {
  onSecret: (s: Secret) => void;
  confirm: (c: ConfirmRequest) => void;
}) {
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [newId, setNewId] = useState('');
  const [newName, setNewName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    get<{ tenants: Tenant[] }>('/v1/admin/tenants?limit=100')
      .then(({ data }) => setTenants(data.tenants))
      .catch(setError);
  }, [tick]);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await f();
      setTick((t) => t + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const { data } = await post<{ tenant_id: string; api_key: string; key_id: string }>(
        '/v1/admin/tenants',
        {
          tenant_id: newId.trim(),
          ...(newName.trim() ? { name: newName.trim() } : {}),
        },
      );
      onSecret({
        label: `Tenant ${data.tenant_id} created; its first key ${data.key_id}`,
        api_key: data.api_key,
      });
      setNewId('');
      setNewName('');
      setSelected(data.tenant_id);
    });
  };
  return (
    <section class="card" aria-labelledby="tenants-title">
      <h2 id="tenants-title">Tenants</h2>
      <form class="row" onSubmit={create} aria-label="Create a tenant">
        <label>
          Tenant id{' '}
          <input
            value={newId}
            required
            pattern="[a-z][a-z0-9-]{0,62}"
            title="lower-case letters, digits and hyphens, starting with a letter"
            onInput={(e) => setNewId((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Name <input value={newName} onInput={(e) => setNewName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Working…' : 'Create tenant'}
        </button>
      </form>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <table>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Name</th>
            <th scope="col">Database user</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(tenants ?? []).map((t) => (
            <tr
              key={t.tenant_id}
              data-tenant={t.tenant_id}
              class={t.tenant_id === selected ? 'selected' : undefined}
            >
              <td>
                <button
                  type="button"
                  class="link"
                  onClick={() => setSelected(t.tenant_id)}
                  aria-label={`Keys of ${t.tenant_id}`}
                >
                  {t.tenant_id}
                </button>
              </td>
              <td>{t.name ?? ''}</td>
              <td>
                <code>{t.db_user}</code>
              </td>
              <td>
                <span class={`status status-${t.status}`}>{t.status}</span>
              </td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    act(() =>
                      patch(`/v1/admin/tenants/${enc(t.tenant_id)}`, {
                        status: t.status === 'active' ? 'suspended' : 'active',
                      }),
                    )
                  }
                >
                  {t.status === 'active' ? 'Suspend' : 'Resume'}
                </button>{' '}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    confirm({
                      title: `Delete tenant ${t.tenant_id}?`,
                      body: 'Its keys stop working and the tenant is removed. This cannot be undone.',
                      action: 'Delete tenant',
                      typed: t.tenant_id,
                      run: () =>
                        act(async () => {
                          await del(`/v1/admin/tenants/${enc(t.tenant_id)}`);
                          if (selected === t.tenant_id) setSelected(null);
                        }),
                    })
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && <Keys tenant={selected} onSecret={onSecret} confirm={confirm} />}
    </section>
  );
}

function Audit() {
  const [tenant, setTenant] = useState('');
  const [since, setSince] = useState('');
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async (more: boolean) => {
    setError(null);
    const q = new URLSearchParams({ limit: '50', order: 'desc' });
    if (tenant.trim()) q.set('tenant_id', tenant.trim());
    if (since) q.set('since', new Date(since).toISOString());
    if (more && cursor) q.set('cursor', cursor);
    try {
      const { data } = await get<{ entries: AuditEntry[]; next_cursor: string | null }>(
        `/v1/admin/audit?${q}`,
      );
      setEntries(more ? [...entries, ...data.entries] : data.entries);
      setCursor(data.next_cursor);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(false), []);
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void load(false);
        }}
        aria-label="Audit filters"
      >
        <label>
          Tenant <input value={tenant} onInput={(e) => setTenant((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Since{' '}
          <input
            type="datetime-local"
            value={since}
            onInput={(e) => setSince((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error} />
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Tenant</th>
              <th scope="col">Principal</th>
              <th scope="col">Request</th>
              <th scope="col">Status</th>
              <th scope="col">ms</th>
              <th scope="col">Request id</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.entry_id}>
                <td>{new Date(e.at).toLocaleString()}</td>
                <td>{e.tenant_id}</td>
                <td>
                  <code>{e.principal}</code>
                </td>
                <td>
                  {e.method} {e.route}
                </td>
                <td class={e.outcome === 'success' ? '' : 'failed'}>
                  {e.status}
                  {e.error_code ? ` ${e.error_code}` : ''}
                </td>
                <td class="num">{Math.round(e.duration_ms)}</td>
                <td>
                  <code class="small">{e.request_id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor && (
        <button type="button" onClick={() => void load(true)}>
          Older entries
        </button>
      )}
    </section>
  );
}

export function AdminPage() {
  const [secret, setSecret] = useState<Secret | null>(null);
  const [confirming, setConfirming] = useState<ConfirmRequest | null>(null);
  return (
    <div class="admin">
      <SecretOnce secret={secret} onDone={() => setSecret(null)} />
      <Tenants onSecret={setSecret} confirm={setConfirming} />
      <MetricsPanel />
      <Audit />
      <ConfirmDialog request={confirming} onClose={() => setConfirming(null)} />
    </div>
  );
}
