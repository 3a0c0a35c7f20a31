// emoface — MIT licence

#include "EmoFaceLiveLinkSource.h"
#include "Modules/ModuleManager.h"

// Nothing to start: Live Link finds UEmoFaceLiveLinkSourceFactory by reflection, and each source opens its own
// WebSocket when Live Link hands it a client.
IMPLEMENT_MODULE(FDefaultModuleImpl, EmoFaceLiveLink)

DEFINE_LOG_CATEGORY(LogEmoFaceLiveLink);
