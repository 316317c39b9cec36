// Package llm names clusters with a large language model.
//
// After a clustering run each cluster has representative documents (closest
// to the centroid first) and offline TF-IDF keywords. A [Labeler] asks an LLM
// for a label (and, by default, a one- or two-sentence summary and a few
// keywords) for every cluster, and returns the answers that succeeded plus the
// run's llm_labeling_errors. A provider failure never fails the run: affected
// clusters simply keep their TF-IDF label.
//
// # Providers
//
// Three [Provider] implementations speak the providers' own wire formats over
// net/http; the base URL and API key of each come from [Config] (the server's
// environment, see [ConfigFromEnv]), never from a request:
//
//   - "openai": Chat Completions, POST {base}/chat/completions with
//     "Authorization: Bearer KEY" (no header when the key is empty, for local
//     OpenAI-compatible servers such as Ollama, vLLM or llama.cpp).
//   - "anthropic": Messages, POST {base}/v1/messages with "x-api-key" and
//     "anthropic-version: 2023-06-01".
//   - "google": Gemini generateContent, POST
//     {base}/v1beta/models/{model}:generateContent with "x-goog-api-key" (the
//     key is never put in the URL, so it cannot leak through URL-bearing
//     errors).
//
// The provider is llm_labeling.provider, or else inferred from model_name
// (see [ResolveProvider]).
//
// # Parameters
//
// llm_labeling.parameters is a free JSON object; the keys below map onto each
// provider's generation settings (see [ParseParams]). A known key with a
// value of the wrong type is a configuration error that fails the labeling
// of every cluster of the run. Other keys are forwarded as they are: into
// the request body's top level for OpenAI and Anthropic, into
// generationConfig for Gemini. They never replace the fields that carry the
// conversation or that reading the answer relies on (OpenAI: model,
// messages, stream, stream_options; Anthropic: model, messages, system,
// stream), nor a field a known key set; they do replace the defaults
// clusterd sets on its own (OpenAI's response_format and Gemini's
// responseMimeType, from json_mode).
//
//	parameters key          openai                      anthropic        google (generationConfig)
//	temperature             temperature                 temperature      temperature
//	max_tokens (1)          max_tokens (2)              max_tokens (3)   maxOutputTokens
//	top_p                   top_p                       top_p            topP
//	top_k                   -                           top_k            topK
//	stop (string or list)   stop                        stop_sequences   stopSequences
//	seed                    seed                        -                seed
//	presence_penalty        presence_penalty            -                presencePenalty
//	frequency_penalty       frequency_penalty           -                frequencyPenalty
//	json_mode (default on)  response_format json_object -                responseMimeType application/json
//
// (1) max_output_tokens and max_completion_tokens are accepted as aliases.
// (2) sent as max_completion_tokens to the reasoning models (o1*, o3*, o4*,
// gpt-5*), which reject max_tokens. (3) Anthropic requires it; default 1024.
// Set json_mode to false for OpenAI-compatible servers or models that do not
// support JSON mode; answers are parsed leniently either way.
//
// # Robustness
//
// Each HTTP attempt has its own timeout (Config.Timeout, default 30 s). An
// attempt is retried, at most Config.MaxRetries times (default 3), only when
// it got HTTP 429 or 5xx, timed out, or lost its connection (reset or closed
// mid-answer); any other 4xx, a refusal and a redirect are final. Between
// attempts the labeler waits what a Retry-After header says (seconds or an
// HTTP date, capped at Config.MaxRetryAfter, default 30 s), or else an
// exponential backoff (Config.BackoffBase·2ⁿ, default 500 ms, capped at
// Config.BackoffMax, default 8 s) with jitter (a uniformly random wait
// between half and all of it). At most Config.Concurrency provider calls
// (default 4) run at once per [Labeler], across all its runs.
//
// The model's answer is parsed leniently (the first balanced JSON object
// with a "label" key, wherever it is: in code fences, among prose) and
// validated: the label is a non-empty string of at most 80 characters
// (whitespace collapsed and trimmed); when asked for, the summary is a string
// and the keywords a list of 1 to 10 non-empty strings. An invalid answer is
// asked again once, with the reason, before the cluster is recorded as failed.
//
// API keys are redacted ("[REDACTED]") from every error message and from the
// model's answers, and never appear in URLs; redirects are not followed, so a
// key header is never sent to another host.
//
// # Labels
//
// See [Labeler.Label] for the prompt, custom_prompt, response_shape, the
// cache and the uniqueness rule, and [Sample] for how a representative
// document built from labeling_inputs (or a whole payload) is shown.
package llm
