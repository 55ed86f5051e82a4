import { useState } from "preact/hooks";

/** Asks once for the API key; it is kept in this tab's sessionStorage only. */
export function KeyForm({ message, onKey }: { message: string; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <form
      class="panel key-form"
      onSubmit={(e) => {
        e.preventDefault();
        onKey(key.trim());
      }}
    >
      <h2>API key needed</h2>
      <p>
        The server asks for a key ({message}). It is sent as <code>authorization: Bearer</code> and
        kept in this tab only.
      </p>
      <label>
        API key{" "}
        <input
          type="password"
          name="api-key"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          // biome-ignore lint/a11y/noAutofocus: the form is the only thing on screen
          autoFocus
        />
      </label>{" "}
      <button type="submit" disabled={key.trim() === ""}>
        Connect
      </button>
    </form>
  );
}
