/** A modal confirmation (<dialog>: focus trapped, Escape cancels); `typed` asks for a word to be retyped. */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  title: string;
  body: string;
  action: string;
  typed?: string;
  run: () => Promise<void> | void;
}

export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest | null; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    setTyped('');
    if (request && !dialog.current?.open) dialog.current?.showModal();
    if (!request && dialog.current?.open) dialog.current.close();
  }, [request]);
  const ok = !request?.typed || typed === request.typed;
  return (
    <dialog ref={dialog} onClose={onClose} aria-labelledby="confirm-title" class="confirm">
      {request && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            if (!ok) return;
            const run = request.run;
            onClose();
            void run();
          }}
        >
          <h2 id="confirm-title">{request.title}</h2>
          <p>{request.body}</p>
          {request.typed && (
            <label>
              Type <code>{request.typed}</code> to confirm{' '}
              <input
                value={typed}
                onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
                autoFocus
              />
            </label>
          )}
          <div class="row">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="danger" disabled={!ok}>
              {request.action}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
