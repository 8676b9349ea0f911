// codepair/hooks — types for HOOKS_MODULE authors and buildApp's `hooks` option.
export {
  EVENT_TYPES, VETOABLE_EVENTS, EventVetoedError,
  type CodepairEvent, type Emitter, type EventData, type EventHandler, type EventType, type GuardHandler, type GrantSummary,
  type HookContext, type Hooks, type PermissionProvider, type PermissionRequest, type PermissionResult, type SignInMethod,
  type UserSummary, type Veto, type VetoableEventType
} from './types.js'
