import * as t from 'io-ts';
import { boundedString } from '../api/codecs.js';
import { RepoName } from '../sessions/request-codecs.js';

export const CreateDeploymentBody = t.exact(
  t.intersection([
    t.type({ session_id: boundedString(1, 200) }),
    t.partial({ branch: boundedString(1, 255), repo: RepoName }),
  ]),
);
export const ConfirmDeploymentBody = t.exact(t.partial({ confirmed_by: boundedString(1, 200) }));
export const RejectDeploymentBody = t.exact(t.partial({ reason: boundedString(1, 2000) }));
