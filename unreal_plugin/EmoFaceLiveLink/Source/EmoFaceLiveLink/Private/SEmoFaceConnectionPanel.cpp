// emoface — MIT licence

#include "SEmoFaceConnectionPanel.h"

#include "EmoFaceLiveLinkSource.h"
#include "EmoFaceLiveLinkSourceFactory.h"
#include "EmoFaceStreamProtocol.h"
#include "Widgets/Input/SButton.h"
#include "Widgets/Input/SEditableTextBox.h"
#include "Widgets/Layout/SBox.h"
#include "Widgets/SBoxPanel.h"
#include "Widgets/Text/STextBlock.h"

#define LOCTEXT_NAMESPACE "SEmoFaceConnectionPanel"

void SEmoFaceConnectionPanel::Construct(const FArguments& InArgs)
{
	OnSourceCreated = InArgs._OnSourceCreated;

	ChildSlot
	[
		SNew(SBox)
		.MinDesiredWidth(320.f)
		[
			SNew(SVerticalBox)
			+ SVerticalBox::Slot().AutoHeight().Padding(4.f)
			[
				MakeRow(LOCTEXT("Url", "URL"),
					SAssignNew(UrlBox, SEditableTextBox)
					.Text(FText::FromString(TEXT("ws://127.0.0.1:8765")))
					.ToolTipText(LOCTEXT("UrlTip", "Where `emoface serve` listens (ws://host:port)")))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(4.f)
			[
				MakeRow(LOCTEXT("Subject", "Subject"),
					SAssignNew(SubjectBox, SEditableTextBox)
					.Text(FText::FromString(TEXT("emoface")))
					.ToolTipText(LOCTEXT("SubjectTip", "The Live Link subject name the face AnimBP reads")))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(4.f)
			[
				MakeRow(LOCTEXT("Character", "Character"),
					SAssignNew(CharacterBox, SEditableTextBox)
					.HintText(LOCTEXT("CharacterHint", "default"))
					.ToolTipText(LOCTEXT("CharacterTip", "Which character of `emoface serve` this subject shows (sent as ?character=); empty = the default character. Letters, digits, '_', '.' or '-', at most 64"))
					.OnTextChanged(this, &SEmoFaceConnectionPanel::HandleCharacterChanged))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(4.f)
			[
				MakeRow(LOCTEXT("Token", "Token"),
					SAssignNew(TokenBox, SEditableTextBox)
					.IsPassword(true)
					.HintText(LOCTEXT("TokenHint", "only if the server runs with --token"))
					.ToolTipText(LOCTEXT("TokenTip", "Sent as 'Authorization: Bearer <token>'")))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(4.f).HAlign(HAlign_Right)
			[
				SNew(SButton)
				.Text(LOCTEXT("Add", "Add"))
				.OnClicked(this, &SEmoFaceConnectionPanel::HandleAddClicked)
			]
		]
	];
}

TSharedRef<SWidget> SEmoFaceConnectionPanel::MakeRow(const FText& Label, const TSharedRef<SWidget>& Field) const
{
	return SNew(SHorizontalBox)
		+ SHorizontalBox::Slot().FillWidth(0.3f).VAlign(VAlign_Center).Padding(0.f, 0.f, 8.f, 0.f)
		[
			SNew(STextBlock).Text(Label)
		]
		+ SHorizontalBox::Slot().FillWidth(0.7f)
		[
			Field
		];
}

FReply SEmoFaceConnectionPanel::HandleAddClicked()
{
	const FString Url = UrlBox->GetText().ToString().TrimStartAndEnd();
	const FString Subject = SubjectBox->GetText().ToString().TrimStartAndEnd();
	const FString Character = CharacterBox->GetText().ToString().TrimStartAndEnd();
	const FString Token = TokenBox->GetText().ToString().TrimStartAndEnd();
	if (Url.IsEmpty() || Subject.IsEmpty() || !CheckCharacter(Character))
	{
		return FReply::Handled();
	}

	// Go through the connection string, so a source made here equals one restored from a preset.
	const FString ConnectionString = UEmoFaceLiveLinkSourceFactory::MakeConnectionString(Url, Subject, Character, Token);
	FString ParsedUrl, ParsedSubject, ParsedCharacter, ParsedToken;
	UEmoFaceLiveLinkSourceFactory::ParseConnectionString(ConnectionString, ParsedUrl, ParsedSubject, ParsedCharacter, ParsedToken);
	const TSharedPtr<ILiveLinkSource> Source = MakeShared<FEmoFaceLiveLinkSource>(ParsedUrl, ParsedSubject, ParsedCharacter, ParsedToken);
	OnSourceCreated.ExecuteIfBound(Source, ConnectionString);
	return FReply::Handled();
}

void SEmoFaceConnectionPanel::HandleCharacterChanged(const FText& Text)
{
	// Flag a bad name while it is typed, not only on Add: the server would refuse it with HTTP 400, which the
	// source could only show as a connection error retried forever.
	CheckCharacter(Text.ToString().TrimStartAndEnd());
}

bool SEmoFaceConnectionPanel::CheckCharacter(const FString& Character)
{
	const bool bValid = IsValidEmoFaceCharacter(Character);
	CharacterBox->SetError(bValid ? FText::GetEmpty()
		: LOCTEXT("CharacterError", "A character name is 1-64 letters, digits, '_', '.' or '-' (empty: the default character)"));
	return bValid;
}

#undef LOCTEXT_NAMESPACE
