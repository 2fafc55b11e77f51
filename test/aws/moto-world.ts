/** What moto-global-setup.ts built in moto, handed to the tests by `inject("moto")`. */

export const REGION = "us-east-1";
export const MOTO_BUCKET = "wavy-exports-moto";
export const SECRET_NAME = "wavy-sessions/wavy";
/** A queue no role is granted anything on. */
export const OTHER_QUEUE = "not-ours";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface MotoWorld {
  endpoint: string;
  /** The set-up's administrator: for the tests' own reads and writes, never the functions'. */
  admin: Credentials;
  secretArn: string;
  deadLetterQueueUrl: string;
  otherQueueUrl: string;
  /** Temporary credentials of each role, restricted to exactly its synthesised policies. */
  roles: { export: Credentials; counter: Credentials; scheduler: Credentials };
  /** The live windows (issue 20): built from the template as the rest is. */
  windows: {
    tableName: string;
    queueUrl: string;
    deadLetterQueueUrl: string;
    /** The webhook integration's request template for `mo`, as synthesised. */
    moRequestTemplate: string;
    /** The 400 integration response's template, which tells 413 from 400. */
    badRequestResponseTemplate: string;
    roles: {
      processor: Credentials;
      lookup: Credentials;
      send: Credentials;
      /** Issue 21's closing-notice sweeper. */
      sweeper?: Credentials;
    };
  };
}
