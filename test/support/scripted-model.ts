import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible chat-completions server that plays a script, for OpenCode in tests (the
 * protocol is in the OpenCode notes: streamed `chat.completion.chunk`s, tool calls, `[DONE]`).
 * The last user message picks the scenario by a tag in it:
 *   [write <path>]  the write tool writes `<path>`, then a reply
 *   [ask]           the question tool asks which year; the reply repeats the answer
 *   [todo]          the todowrite tool sets a todo list, then a reply
 *   [bash <b64>]    the bash tool runs the command (base64url of its text), then a reply quoting its output
 *   [model-route r] the router's answer: {"route": r, "confidence": 0.9, "reason": ...} as JSON text
 *   [model-garbage] the router's answer in words, not JSON
 *   [error]         the provider answers 400
 *   [unreachable]   the provider drops every connection (OpenCode retries)
 *   [slow]          a reply streamed slowly for a minute (to be aborted)
 *   [delay <ms>]    a reply after that long (a turn to kill the gateway in)
 * anything else:    a one-line reply quoting the message.
 */
export interface ScriptedModel {
  readonly baseUrl: string;
  /** How many completion requests came in (title generation excluded). */
  readonly requests: () => number;
  /** How many `[delay]` replies were sent in full. */
  readonly delayedReplies: () => number;
  readonly close: () => Promise<void>;
}

type Message = { role: string; content?: string | { type: string; text?: string }[] | null; tool_calls?: unknown[] };

const textOf = (message: Message | undefined): string => {
  const content = message?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join('');
};

const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-scripted', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'scripted', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;

const USAGE = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

const reply = (response: ServerResponse, text: string): void => {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(chunk({ role: 'assistant', content: text }));
  response.write(chunk({}, 'stop', USAGE));
  response.end('data: [DONE]\n\n');
};

let calls = 0;
/** Delayed replies fully sent, for tests that must know a turn's answer has left the model. */
let delivered = 0;
const toolCall = (response: ServerResponse, name: string, args: unknown): void => {
  const json = JSON.stringify(args);
  const half = Math.floor(json.length / 2);
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(
    chunk({
      role: 'assistant',
      tool_calls: [
        { index: 0, id: `call_${++calls}`, type: 'function', function: { name, arguments: json.slice(0, half) } },
      ],
    }),
  );
  response.write(chunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(half) } }] }));
  response.write(chunk({}, 'tool_calls', USAGE));
  response.end('data: [DONE]\n\n');
};

const play = (messages: Message[], response: ServerResponse, request: IncomingMessage): void => {
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  const said = textOf(lastUser);
  const last = messages[messages.length - 1];
  const afterTool = last?.role === 'tool';
  const write = /\[write ([^\]\s]+)\]/.exec(said);
  if (said.includes('[error]')) {
    response
      .writeHead(400, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { message: 'scripted provider error', type: 'invalid_request_error' } }));
    return;
  }
  const modelRoute = /\[model-route ([a-z-]+)\]/.exec(said);
  if (modelRoute)
    return reply(
      response,
      JSON.stringify({ route: modelRoute[1], confidence: 0.9, reason: 'The scripted model read the request.' }),
    );
  if (said.includes('[model-garbage]')) return reply(response, 'I would say this is probably PM work.');
  if (said.includes('[unreachable]')) {
    request.socket.destroy();
    return;
  }
  if (write) {
    if (afterTool) return reply(response, `Wrote ${write[1]}.`);
    return toolCall(response, 'write', { filePath: write[1], content: 'written by scripted model\n' });
  }
  if (said.includes('[ask]')) {
    if (afterTool) return reply(response, `You answered: ${textOf(last)}`);
    return toolCall(response, 'question', {
      questions: [
        {
          question: 'Which year goes in the footer?',
          header: 'Year',
          options: [
            { label: '2025', description: 'last year' },
            { label: '2026', description: 'this year' },
          ],
        },
      ],
    });
  }
  if (said.includes('[todo]')) {
    if (afterTool) return reply(response, 'Planned the work.');
    return toolCall(response, 'todowrite', {
      todos: [
        { content: 'Read the footer code', status: 'completed', priority: 'high' },
        { content: 'Fix the typo', status: 'in_progress', priority: 'high' },
      ],
    });
  }
  const bash = /\[bash ([A-Za-z0-9_-]+)\]/.exec(said);
  if (bash) {
    if (afterTool) return reply(response, `Ran: ${textOf(last)}`);
    const command = Buffer.from(bash[1]!, 'base64url').toString('utf8');
    return toolCall(response, 'bash', { command, description: 'Run the scripted command' });
  }
  const delay = /\[delay (\d+)\]/.exec(said);
  if (delay) {
    const timer = setTimeout(() => {
      reply(response, 'Done after a delay.');
      delivered++;
    }, Number(delay[1]));
    response.on('close', () => clearTimeout(timer));
    return;
  }
  if (said.includes('[slow]')) {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ role: 'assistant', content: 'Working' }));
    const timer = setInterval(() => response.write(chunk({ content: '.' })), 200);
    const stop = setTimeout(() => {
      clearInterval(timer);
      response.write(chunk({}, 'stop', USAGE));
      response.end('data: [DONE]\n\n');
    }, 60_000);
    response.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
    });
    return;
  }
  reply(response, `Done: ${said.split('\n')[0]!.slice(0, 60)}`);
};

export const startScriptedModel = async (): Promise<ScriptedModel> => {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (part: Buffer) => chunks.push(part));
    request.on('end', () => {
      if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
        response.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: Message[] };
      if (textOf(body.messages.find((message) => message.role === 'system')).startsWith('You are a title generator'))
        return reply(response, 'Scripted title');
      requests++;
      play(body.messages, response, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    delayedReplies: () => delivered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/** The OpenCode provider configuration that points at a scripted model. */
export const scriptedProviderConfig = (baseUrl: string) => ({
  provider: {
    local: {
      npm: '@ai-sdk/openai-compatible',
      name: 'Local',
      options: { baseURL: baseUrl, apiKey: 'x' },
      models: { scripted: { name: 'Scripted' } },
    },
  },
  model: 'local/scripted',
});
