import { signInAction } from './actions.js';

export const dynamic = 'force-dynamic';

export default function Page() {
  return (
    <main>
      <h1>tessera + Next.js</h1>
      <form action={signInAction}>
        <input name="user" defaultValue="grace" />
        <button type="submit">Sign in (server action)</button>
      </form>
    </main>
  );
}
