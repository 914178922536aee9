/**
 * Nothing to configure: tessera runs on the Node.js runtime, the default for route handlers
 * and server actions (it needs node:crypto and node:net, which the Edge runtime lacks).
 * @type {import('next').NextConfig}
 */
export default {};
