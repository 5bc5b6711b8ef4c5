import * as t from 'io-ts';
import { boundedString } from '../api/codecs.js';
import { Route } from '../routing/signals.js';

const SLUG = {
  regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  name: 'DNS-1123 label (lowercase letters, digits and inner dashes)',
};
const Slug = boundedString(1, 40, SLUG);
export const RepoName = boundedString(1, 63, SLUG);

const arrayOf = <C extends t.Mixed>(codec: C, min: number, max: number) =>
  new t.Type<t.TypeOf<C>[], t.OutputOf<C>[], unknown>(
    `list of ${min}..${max}`,
    (value): value is t.TypeOf<C>[] =>
      Array.isArray(value) && value.length >= min && value.length <= max && value.every((item) => codec.is(item)),
    (value, context) => {
      if (Array.isArray(value) && (value.length < min || value.length > max))
        return t.failure(value, context, `expected ${min}..${max} items, got ${value.length}`);
      return t.array(codec).validate(value, context);
    },
    (value) => value.map((item) => codec.encode(item) as t.OutputOf<C>),
  );

export const CreateSessionBody = t.exact(
  t.intersection([
    t.type({
      category: Slug,
      project: Slug,
      repos: arrayOf(
        t.exact(
          t.intersection([
            t.type({ name: RepoName }),
            t.partial({ url: boundedString(1, 2048), ref: boundedString(1, 255) }),
          ]),
        ),
        1,
        20,
      ),
      task: t.exact(t.type({ title: boundedString(1, 200), description: boundedString(0, 20000) })),
    }),
    t.partial({
      requested_by: t.exact(
        t.partial({ user: boundedString(1, 200), channel: boundedString(1, 200), thread_ts: boundedString(1, 200) }),
      ),
    }),
  ]),
);
export type CreateSessionBody = t.TypeOf<typeof CreateSessionBody>;

export const ConfirmRouteBody = t.exact(
  t.intersection([t.type({ route: Route }), t.partial({ confirmed_by: boundedString(1, 200) })]),
);
export const SendMessageBody = t.exact(
  t.intersection([t.type({ text: boundedString(1, 50000) }), t.partial({ from: boundedString(1, 200) })]),
);
export const CloseSessionBody = t.exact(t.partial({ reason: boundedString(1, 2000), remove_workspace: t.boolean }));
export const AnswerQuestionBody = t.exact(t.type({ answer: boundedString(1, 50000) }));
