// emoface — MIT licence

#pragma once

#include "CoreMinimal.h"
#include "LiveLinkSourceFactory.h"
#include "Widgets/DeclarativeSyntaxSupport.h"
#include "Widgets/SCompoundWidget.h"

class SEditableTextBox;

/** The "+ Source > emoface" sub-panel: URL, subject name, character, token, and an Add button. */
class SEmoFaceConnectionPanel : public SCompoundWidget
{
public:
	using FOnSourceCreated = ULiveLinkSourceFactory::FOnLiveLinkSourceCreated;

	SLATE_BEGIN_ARGS(SEmoFaceConnectionPanel) {}
		SLATE_EVENT(FOnSourceCreated, OnSourceCreated)
	SLATE_END_ARGS()

	void Construct(const FArguments& InArgs);

private:
	TSharedRef<SWidget> MakeRow(const FText& Label, const TSharedRef<SWidget>& Field) const;
	FReply HandleAddClicked();
	void HandleCharacterChanged(const FText& Text);
	bool CheckCharacter(const FString& Character);

	FOnSourceCreated OnSourceCreated;
	TSharedPtr<SEditableTextBox> UrlBox;
	TSharedPtr<SEditableTextBox> SubjectBox;
	TSharedPtr<SEditableTextBox> CharacterBox;
	TSharedPtr<SEditableTextBox> TokenBox;
};
