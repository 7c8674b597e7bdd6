import { covers, groupEventTypes, toggleEvent } from './logic';
import type { EventType } from './types';

// EventPicker: the event-type catalog grouped by family; a family wildcard
// or "*" includes the types it covers.
export function EventPicker(props: {
  types: EventType[];
  selected: string[];
  onChange: (next: string[]) => void;
  error?: string;
}) {
  const families = groupEventTypes(props.types);
  const check = (n: string) => (
    <input
      type="checkbox"
      checked={props.selected.includes(n)}
      onChange={() => props.onChange(toggleEvent(props.selected, n))}
      aria-label={n}
    />
  );
  return (
    <fieldset>
      <legend>Event types</legend>
      <label class="check">
        {check('*')} <span>all domain events (*)</span>
      </label>
      {families.map((f) => (
        <div class="family" key={f.family}>
          <label class="check">
            {check(f.wildcard)} <strong>{f.wildcard}</strong>
          </label>
          <div class="types">
            {f.types.map((t) => (
              <label class="check" key={t.name} title={t.description}>
                {covers(props.selected, t.name, t.operational) && !props.selected.includes(t.name) ? (
                  <input type="checkbox" checked disabled aria-label={`${t.name} (included)`} />
                ) : (
                  check(t.name)
                )}{' '}
                <span>{t.name}</span>
                {t.operational && <small> operational</small>}
              </label>
            ))}
          </div>
        </div>
      ))}
      {props.error && <p class="field-error">{props.error}</p>}
    </fieldset>
  );
}
