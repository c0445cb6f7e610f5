// English strings of the call and meeting modes and the lawful-recording notice
// (spread into en.ts; zh-CN-calls.ts must have the same keys).
const enCalls = {
  'calls._': 'Calls and meetings',
} as const;

export default enCalls;
