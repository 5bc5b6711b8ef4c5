import { stemmer } from 'stemmer';

export interface Token {
  readonly word: string;
  readonly stem: string;
}

const WORD = /[a-z0-9]+(?:['’-][a-z0-9]+)*/g;

/** Words as people type them in Slack, lower-cased, each with its stem ("stories" → "stori"). */
export const tokenize = (text: string): Token[] =>
  (text.toLowerCase().match(WORD) ?? []).map((word) => ({
    word: word.replace('’', "'"),
    stem: stemmer(word.replace('’', "'")),
  }));

export const stemsOf = (text: string): string[] => tokenize(text).map((token) => token.stem);
