// 通话、会议模式与合法录音提示的简体中文文字（并入 zh-CN.ts；键与 en-calls.ts 一致）。
import type enCalls from './en-calls';

const zhCalls: Record<keyof typeof enCalls, string> = {
  'calls._': '通话与会议',
};

export default zhCalls;
