import type { ComponentChildren, JSX } from 'preact';
import { ErrorBox } from './components';

// The pieces every console form is made of. A field is its label, its
// control, a hint under it (what the control's aria-describedby names) and
// the error for that field; the form ends with the error for the form as a
// whole, its submit button and Cancel. They render as siblings, not inside
// a wrapper, so the form's layout and the CSS (.field-error right after its
// control or hint) stay as they were.

type Control =
  | ({ as?: 'input' } & JSX.InputHTMLAttributes<HTMLInputElement>)
  | ({ as: 'textarea' } & JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)
  | ({ as: 'select' } & JSX.SelectHTMLAttributes<HTMLSelectElement>);

export type FieldProps = Control & {
  id: string;
  label: ComponentChildren;
  hint?: ComponentChildren;
  error?: string;
};

// Field is a labelled <input> (or, with as, a <textarea> or <select>, whose
// options are its children); the other props go to the control.
export function Field(props: FieldProps) {
  const { as, id, label, hint, error, ...control } = props;
  const attrs = { id, 'aria-invalid': !!error, 'aria-describedby': hint ? `${id}-help` : undefined, ...control };
  return (
    <>
      <label for={id}>{label}</label>
      {as === 'textarea' ? (
        <textarea {...(attrs as JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)} />
      ) : as === 'select' ? (
        <select {...(attrs as JSX.SelectHTMLAttributes<HTMLSelectElement>)} />
      ) : (
        <input {...(attrs as JSX.InputHTMLAttributes<HTMLInputElement>)} />
      )}
      <FieldNotes id={id} hint={hint} error={error} />
    </>
  );
}

// bindFields ties Fields to a form's errors: bind(field, value, set) gives a
// Field its value, the error for that field, and an onInput that sets the
// value and clears the error (it is being fixed).
export function bindFields<E extends object>(errs: E, setErrs: (errs: E) => void) {
  return (field: keyof E & string, value: string, set: (v: string) => void) => ({
    value,
    error: errs[field] as string | undefined,
    onInput: (e: { currentTarget: { value: string } }) => {
      set(e.currentTarget.value);
      setErrs({ ...errs, [field]: undefined });
    },
  });
}

// FieldNotes is what follows a control: its hint (id `${id}-help`) and its
// error, each only when there is one. Field uses it; a control that is not
// a plain labelled one (a checkbox inside its label) uses it alone.
export function FieldNotes(props: { id: string; hint?: ComponentChildren; error?: string }) {
  return (
    <>
      {props.hint && <small id={`${props.id}-help`}>{props.hint}</small>}
      {props.error && <p class="field-error">{props.error}</p>}
    </>
  );
}

// FormActions ends a form: the error that belongs to no one field (ErrorBox),
// then the submit button, any further buttons (children) and Cancel.
export function FormActions(props: {
  error: unknown;
  submit: ComponentChildren;
  busy?: boolean;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  return (
    <>
      <ErrorBox error={props.error} />
      <div class="row">
        <button type="submit" disabled={props.busy}>
          {props.submit}
        </button>
        {props.children}
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
