// The app code the README's quick start imports (`./users.js`): not tessera's.
export async function checkPassword(email: string, password: string): Promise<{ id: string } | null> {
  return email === 'ada@example.com' && password.length > 0 ? { id: 'ada' } : null;
}
